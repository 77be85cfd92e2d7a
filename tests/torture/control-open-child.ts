/**
 * @module tests/torture/control-open-child
 * A daemon's first step, alone in a process of its own (SQLite's POSIX locks
 * are per process, so the "application" must be another one): open the
 * control connections on the database named by argv[2], report on stdout, and
 * hold them until stdin closes. Used by regressions.test.ts to open the
 * daemon's connections while the file is being swapped.
 */
import { ControlConnections } from "../../src/engine/control.ts";

const path = process.argv[2];
console.log("STARTING");
try {
  const conns = await ControlConnections.open(path, 10_000);
  console.log("OPEN");
  for await (const _ of console) break; // hold R's read (and the -shm) until the parent is done
  conns.close();
} catch (err) {
  console.log(`ERROR ${(err as Error).message}`);
}
