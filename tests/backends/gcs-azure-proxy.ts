/**
 * @module tests/backends/gcs-azure-proxy
 * A loopback HTTP proxy the GCS and Azure tests put between a backend and its
 * real emulator. It records every request (method, path, headers, small
 * bodies) so a test can check the exact request a backend sent for features
 * the emulator ignores, and it can misbehave on demand: answer the next
 * requests with an error status, cut a response off after some bytes, or
 * stall one mid-body, or stop reading a request. Everything else is
 * forwarded untouched, streaming.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The body when it was at most 1 MiB, else null (bodyLength still counts it). */
  body: Buffer | null;
  bodyLength: number;
  /** Settles when the exchange is over: the response was sent, or the client (or the proxy) closed the connection. */
  closed: Promise<void>;
}

type Fault =
  | { kind: "status"; status: number; body: string; headers: Record<string, string> }
  | { kind: "drop"; afterBytes: number }
  | { kind: "stall"; afterBytes: number }
  | { kind: "stallRequest" };

interface PendingFault {
  fault: Fault;
  matches(req: http.IncomingMessage): boolean;
}

const RECORD_LIMIT = 1 << 20;

export class FaultProxy {
  readonly requests: RecordedRequest[] = [];
  private faults: PendingFault[] = [];
  private server: http.Server;
  private stalled = new Set<http.ServerResponse>();
  port = 0;

  private constructor(private readonly target: URL) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(target: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(new URL(target));
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `count` requests matching `match` get `status` without reaching the server. */
  failNext(count: number, status: number, match: (req: http.IncomingMessage) => boolean = () => true, body = "", headers: Record<string, string> = {}): void {
    for (let i = 0; i < count; i++) this.faults.push({ fault: { kind: "status", status, body, headers }, matches: match });
  }

  /** The next matching response is cut off (socket destroyed) after `afterBytes` of its body. */
  dropNext(afterBytes: number, match: (req: http.IncomingMessage) => boolean): void {
    this.faults.push({ fault: { kind: "drop", afterBytes }, matches: match });
  }

  /** The next matching response sends `afterBytes` of its body and then nothing more, keeping the socket open. */
  stallNext(afterBytes: number, match: (req: http.IncomingMessage) => boolean): void {
    this.faults.push({ fault: { kind: "stall", afterBytes }, matches: match });
  }

  /** The next matching request is neither read nor answered: its sender soon blocks, as on a dead link. */
  stallRequestNext(match: (req: http.IncomingMessage) => boolean): void {
    this.faults.push({ fault: { kind: "stallRequest" }, matches: match });
  }

  async stop(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(req: http.IncomingMessage): Fault | undefined {
    const i = this.faults.findIndex((f) => f.matches(req));
    if (i < 0) return undefined;
    return this.faults.splice(i, 1)[0].fault;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const closed = new Promise<void>((resolve) => {
      res.once("close", () => resolve());
      req.socket.once("close", () => resolve());
    });
    const record: RecordedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: null, bodyLength: 0, closed };
    this.requests.push(record);
    const parts: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      record.bodyLength += chunk.length;
      if (record.bodyLength <= RECORD_LIMIT) parts.push(chunk);
    });
    req.on("end", () => {
      if (record.bodyLength <= RECORD_LIMIT) record.body = Buffer.concat(parts);
    });
    const fault = this.takeFault(req);
    if (fault?.kind === "stallRequest") {
      req.pause();
      this.stalled.add(res);
      return;
    }
    if (fault?.kind === "status") {
      req.resume();
      req.on("end", () => {
        res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
        res.end(fault.body);
      });
      return;
    }
    const upstream = http.request(
      // The Host header passes through unchanged, so URLs the server builds from it (a GCS upload session) lead back here.
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (!fault) {
          up.pipe(res);
          return;
        }
        let sent = 0;
        up.on("data", (chunk: Buffer) => {
          if (sent >= fault.afterBytes) return;
          const room = fault.afterBytes - sent;
          const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
          sent += piece.length;
          res.write(piece);
          if (sent >= fault.afterBytes) {
            up.destroy();
            if (fault.kind === "drop") res.socket?.destroy();
            else this.stalled.add(res);
          }
        });
        up.on("end", () => {
          if (sent < fault.afterBytes) res.end();
        });
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  }
}
