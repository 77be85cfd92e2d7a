/**
 * Child process for the crash test: `bun reencrypt-child.ts <replica root> <key file>`
 * reencrypts database "app" (plaintext) under the key, as the migration does
 * (require_encrypted = false), and prints "progress <done>" after
 * every object, so the parent can SIGKILL it part way through.
 */
import { FileBackend } from "../../src/backends/file.ts";
import { keyringFor } from "../../src/format/keyring.ts";
import { reencryptDatabase } from "../../src/replica/reencrypt.ts";

const [root, keyFile] = process.argv.slice(2);
const keys = keyringFor({ keyFile, requireEncrypted: false });
await reencryptDatabase({
  backend: new FileBackend(root),
  db: "app",
  keys,
  onProgress: ({ done }) => process.stdout.write(`progress ${done}\n`),
});
process.stdout.write("finished\n");
