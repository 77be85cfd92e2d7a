/**
 * @module bench/moving-reader
 * A plain SQLite reader that does what the daemon's read connection does to
 * protect the WAL, and nothing else: it holds a read transaction on a WAL read
 * mark and begins it again every `everyMs` (the daemon does so after each
 * sync, a debounce window apart). An application writer beside it pays for
 * the mark: once its WAL is past the autocheckpoint size, each commit tries a
 * checkpoint that stops at the mark, and when the mark moves the next commit
 * backfills everything up to it. Every design that keeps unshipped frames from
 * being checkpointed away with a read mark pays that per commit, so the
 * benchmarks show it beside the daemon (docs/performance.md). It is not a
 * strict floor for throughput: the daemon's own checkpoints restart the WAL
 * and do backfills on their connection, which this reader never does.
 */
import { Database } from "bun:sqlite";

export interface MovingReader {
  stop(): void;
}

/**
 * Starts the reader on `path` (a WAL database nobody else has open yet),
 * after emptying the WAL. Unless `slot0`, it commits one row first, so that
 * its read transaction lands on a read mark: begun on a fully checkpointed
 * WAL it takes read slot 0 instead, which costs the writer far more (the
 * daemon moves off it at once). `everyMs` null: the transaction never moves.
 */
export function startReader(path: string, options: { everyMs: number | null; slot0?: boolean }): MovingReader {
  const { everyMs, slot0 = false } = options;
  const reader = new Database(path);
  reader.exec("PRAGMA wal_autocheckpoint = 0");
  reader.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  if (!slot0) reader.exec("INSERT INTO events (user_id, kind, at, payload) VALUES (1, 'setup', 0, '')");
  const begin = () => {
    reader.exec("BEGIN");
    reader.query("SELECT count(*) FROM users WHERE id < 3").get();
  };
  begin();
  // The writer is another process, so this timer runs while it writes.
  const mover =
    everyMs === null
      ? null
      : setInterval(() => {
          reader.exec("COMMIT");
          begin();
        }, everyMs);
  return {
    stop() {
      if (mover) clearInterval(mover);
      if (reader.inTransaction) reader.exec("COMMIT");
      reader.close();
    },
  };
}
