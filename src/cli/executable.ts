/**
 * @module cli/executable
 * Whether this process is the compiled `bakelite` executable (bun build
 * --compile) or `bun src/cli/main.ts`: a compiled executable's entry point
 * lives in Bun's embedded file system.
 */
export function isCompiled(main: string = Bun.main): boolean {
  return main.startsWith("/$bunfs/");
}
