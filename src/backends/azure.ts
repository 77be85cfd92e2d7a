/**
 * @module backends/azure
 * A replica in an Azure Blob Storage container, through @azure/storage-blob
 * (loaded on first use). Key "a/b" is the block blob "<prefix>/a/b".
 *
 * - Uploads: one Put Blob for small bodies, staged blocks committed at the
 *   end for large or streamed ones (azure-upload.ts); nothing is visible
 *   until the upload completes.
 * - Reads pin the blob's ETag after the first response; a download that
 *   drops or stalls resumes from the byte it reached.
 * - `storage_class` becomes the access tier of cold objects only (snapshots
 *   and compacted change-sets); others take the account's default tier.
 * - Every request runs under this module's own timer (request_timeout, 60 s
 *   by default; for a download, the wait for its first byte and then for each
 *   next chunk) and is retried here up to max_retries times (3 by default)
 *   when the failure is transient; the client library's own retries are off
 *   so the two never multiply.
 */
import type { BlobItem, BlobServiceClient, ContainerClient, ListBlobsFlatSegmentResponse } from "@azure/storage-blob";
import { BakeliteError } from "../errors.ts";
import type { AzureBackendConfig } from "../config/types.ts";
import { assertValidKey } from "./types.ts";
import { assertValidPrefix } from "./keys.ts";
import type { Backend, BackendCapabilities, Body, ByteRange, ObjectInfo, ObjectRole, PutOptions } from "./types.ts";
import { resolveAzureCredentials, type AzureCredentialChoice, type Env } from "./azure-auth.ts";
import { azureCode, azureError, azureStatus, RequestTimeout, type AzureOp } from "./azure-errors.ts";
import { BodyError } from "./body.ts";
import { uploadBlockBlob } from "./azure-upload.ts";
import { checkRange, collectBytes, readWithResume, relativeListing, rootPrefix, type ReadPart } from "./gcs-azure-shared.ts";
import { withRetry } from "./retry.ts";

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RETRIES = 3;
/**
 * 4 MiB blocks, one staged while the next fills. Measured on a 128 MiB
 * streamed upload (RSS growth, Bun 1.4): 4 MiB x 1 ~50 MiB, 4 MiB x 2
 * 58-72 MiB, 8 MiB x 1 76-97 MiB, 8 MiB x 2 ~85 MiB: the HTTP client's copy
 * of each request body lingers until the GC runs, so bigger or more
 * concurrent blocks cost memory far beyond their own size.
 */
export const AZURE_BLOCK_SIZE = 4 << 20;
const STAGE_CONCURRENCY = 1;
const MAX_READ_RESUMES = 5;
const LIST_PAGE = 1000;
const COLD_ROLES = new Set<ObjectRole | undefined>(["snapshot", "compacted"]);

export interface AzureOpenOptions {
  /** Environment to read credentials from (default process.env). */
  env?: Env;
  /** Block size for staged uploads (tests use small blocks). */
  blockSize?: number;
}

export async function openAzureBackend(config: AzureBackendConfig, options: AzureOpenOptions = {}): Promise<AzureBackend> {
  for (const [name, value] of [["account", config.account], ["container", config.container]] as const) {
    if (!value || value.trim() === "") throw new BakeliteError("CONFIG_INVALID", `azure backend: ${name} is empty`);
  }
  const choice = resolveAzureCredentials(options.env ?? process.env);
  const sdk = await import("@azure/storage-blob");
  const url = serviceUrl(config);
  // Retries are done in this module (see the header); the library makes one try per call.
  const pipelineOptions = { retryOptions: { maxTries: 1 }, userAgentOptions: { userAgentPrefix: "bakelite" } };
  let service: BlobServiceClient;
  if (choice.kind === "shared-key") {
    service = new sdk.BlobServiceClient(url, new sdk.StorageSharedKeyCredential(config.account, choice.accountKey), pipelineOptions);
  } else if (choice.kind === "sas") {
    service = new sdk.BlobServiceClient(`${url}?${choice.sas}`, new sdk.AnonymousCredential(), pipelineOptions);
  } else {
    const identity = await import("@azure/identity");
    const credential = new identity.ClientSecretCredential(choice.tenantId, choice.clientId, choice.clientSecret, {
      authorityHost: choice.authorityHost,
    });
    service = new sdk.BlobServiceClient(url, credential, pipelineOptions);
  }
  return new AzureBackend(config, service.getContainerClient(config.container), choice, options.blockSize ?? AZURE_BLOCK_SIZE);
}

/**
 * The blob service URL. A custom endpoint is used as given, except that an
 * address or "localhost" without a path gets the account appended: that is
 * how emulators such as Azurite address accounts.
 */
export function serviceUrl(config: Pick<AzureBackendConfig, "account" | "endpoint">): string {
  if (!config.endpoint) return `https://${config.account}.blob.core.windows.net`;
  const url = new URL(config.endpoint);
  const path = url.pathname.replace(/\/+$/, "");
  const ipStyle = /^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i.test(url.hostname);
  return `${url.origin}${path === "" && ipStyle ? `/${config.account}` : path}`;
}

export class AzureBackend implements Backend {
  readonly type = "azure";
  readonly describe: string;
  readonly capabilities: BackendCapabilities = { atomicPut: true, streamingPut: true, multipartReclaim: false };
  private readonly root: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;

  constructor(
    private readonly config: AzureBackendConfig,
    private readonly container: ContainerClient,
    private readonly credential: AzureCredentialChoice,
    private readonly blockSize: number,
  ) {
    this.root = rootPrefix(config.prefix);
    this.timeoutMs = config.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = config.maxRetries ?? DEFAULT_MAX_RETRIES;
    const host = config.endpoint ? ` (${new URL(config.endpoint).host})` : "";
    this.describe = `azure://${config.account}/${config.container}${this.root ? `/${this.root.slice(0, -1)}` : ""}${host}`;
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    const client = this.container.getBlockBlobClient(this.nameOf(key));
    options.signal?.throwIfAborted();
    const tier = this.config.storageClass && COLD_ROLES.has(options.role) ? this.config.storageClass : undefined;
    try {
      await uploadBlockBlob(client, key, body, options.size, {
        blockSize: this.blockSize,
        concurrency: STAGE_CONCURRENCY,
        tier,
        attempt: (fn) => this.attempt("put", key, fn, options.signal),
      });
    } catch (err) {
      if (err instanceof BodyError) throw err.error;
      if (options.signal?.aborted) throw options.signal.reason;
      throw this.fail(err, "put", key);
    }
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return collectBytes(this.getStream(key, range));
  }

  async *getStream(key: string, range?: ByteRange): AsyncGenerator<Uint8Array> {
    checkRange(range);
    const name = this.nameOf(key);
    const start = range?.offset ?? 0;
    const end = range?.length === undefined ? undefined : start + range.length;
    if (end === start) {
      if ((await this.stat(key)) === null) throw notFound(key);
      return;
    }
    let etag: string | undefined;
    yield* readWithResume(
      async (at) => {
        const part = await this.openRead(name, key, at, end, etag);
        if (part) etag ??= part.etag;
        return part;
      },
      {
        start,
        end,
        idleMs: this.timeoutMs,
        maxResumes: MAX_READ_RESUMES,
        toError: (err) => this.fail(err, "get", key),
        stalled: (ms) => new BakeliteError("BACKEND_TIMEOUT", `azure backend: get ${key} failed: no data for ${ms} ms`, { retryable: true }),
      },
    );
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const client = this.container.getBlobClient(this.nameOf(key));
    try {
      const props = await this.attempt("stat", key, (abortSignal) => client.getProperties({ abortSignal }));
      return { key, size: props.contentLength ?? 0, modified: props.lastModified };
    } catch (err) {
      if (isMissing(err)) return null;
      throw this.fail(err, "stat", key);
    }
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    return relativeListing("azure", this.root, prefix, this.pages(prefix));
  }

  async delete(key: string): Promise<void> {
    const client = this.container.getBlobClient(this.nameOf(key));
    // deleteIfExists, not delete: a blob that is already gone (or whose earlier delete's answer was lost) is success.
    await this.attempt("delete", key, (abortSignal) => client.deleteIfExists({ abortSignal }));
  }

  async close(): Promise<void> {
    // The client holds only keep-alive sockets, which close on their own.
  }

  private async *pages(prefix: string): AsyncGenerator<Array<{ name: string; size: number; modified?: Date }>> {
    let marker: string | undefined;
    do {
      const page: ListBlobsFlatSegmentResponse | undefined = await this.attempt("list", prefix, async (abortSignal) => {
        const it = this.container.listBlobsFlat({ prefix: this.root + prefix, abortSignal }).byPage({ maxPageSize: LIST_PAGE, continuationToken: marker });
        return (await it.next()).value;
      });
      if (!page) return;
      yield page.segment.blobItems.map((b: BlobItem) => ({ name: b.name, size: b.properties.contentLength ?? 0, modified: b.properties.lastModified }));
      marker = page.continuationToken || undefined;
    } while (marker);
  }

  /** Starts a download at byte `at`; null when the range starts at or past the end of a blob that exists. */
  private async openRead(name: string, key: string, at: number, end: number | undefined, etag: string | undefined): Promise<(ReadPart & { etag?: string }) | null> {
    const client = this.container.getBlobClient(name);
    // The body outlives the try that opened it, so each try gets its own controller (linked to the try's signal) and
    // cancel() reaches the one that succeeded. One controller for all tries would leave every retry after a timeout
    // born aborted.
    let controller = new AbortController();
    let response;
    try {
      response = await this.attempt("get", key, (abortSignal) => {
        const tryController = new AbortController();
        controller = tryController;
        abortSignal.addEventListener("abort", () => tryController.abort(abortSignal.reason), { once: true });
        return client.download(at, end === undefined ? undefined : end - at, {
          abortSignal: tryController.signal,
          maxRetryRequests: 0,
          conditions: etag ? { ifMatch: etag } : undefined,
        });
      });
    } catch (err) {
      const code = azureCode(err);
      if (azureStatus(err) === 416 || code === "InvalidRange") {
        if ((await this.stat(key)) === null) throw notFound(key);
        return null;
      }
      if (isMissing(err)) {
        if (etag === undefined) throw notFound(key);
        throw new BakeliteError("BACKEND_IO", `azure backend: get ${key} failed: the blob was replaced while it was being read`, { cause: err, retryable: true });
      }
      if (azureStatus(err) === 412) {
        throw new BakeliteError("BACKEND_IO", `azure backend: get ${key} failed: the blob was replaced while it was being read`, { cause: err, retryable: true });
      }
      throw err;
    }
    const stream = response.readableStreamBody;
    if (!stream) throw new BakeliteError("BACKEND_IO", `azure backend: get ${key} failed: the response had no body`, { retryable: true });
    // A server that ignores the range answers 200 with the whole blob: skip to the byte asked for.
    const skip = at > 0 && response._response.status === 200 ? at : 0;
    return {
      etag: response.etag,
      chunks: skipBytes(stream as AsyncIterable<Buffer>, skip),
      cancel: (reason) => {
        controller.abort(reason);
        (stream as { destroy?: (e?: Error) => void }).destroy?.(reason);
      },
    };
  }

  /**
   * Runs one request with a timer and retries. Each try gets its own abort
   * signal (linked to `outer`) that fires after request_timeout. For a
   * download the timer stops once the response has started; the body has its
   * own idle timer in readWithResume.
   */
  private attempt<T>(op: AzureOp, key: string, fn: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): Promise<T> {
    const where = { account: this.config.account, container: this.config.container, credentialSource: this.credential.source };
    return withRetry(
      async () => {
        const controller = new AbortController();
        const onOuter = () => controller.abort(outer!.reason);
        outer?.addEventListener("abort", onOuter, { once: true });
        const timeout = new RequestTimeout(this.timeoutMs);
        const timer = setTimeout(() => controller.abort(timeout), this.timeoutMs);
        try {
          return await fn(controller.signal);
        } catch (err) {
          if (outer?.aborted) throw outer.reason;
          if (err instanceof BodyError) throw err;
          // Answers about the object itself (missing, changed, empty range) go back raw for the caller to interpret.
          if (isMissing(err) || azureStatus(err) === 416 || azureStatus(err) === 412) throw err;
          throw azureError(controller.signal.reason === timeout ? timeout : err, op, key, where);
        } finally {
          clearTimeout(timer);
          outer?.removeEventListener("abort", onOuter);
        }
      },
      { attempts: this.maxRetries + 1, baseMs: 200, maxMs: 10_000, signal: outer },
    );
  }

  private nameOf(key: string): string {
    assertValidKey(key);
    return this.root + key;
  }

  private fail(err: unknown, op: AzureOp, key: string): BakeliteError {
    return azureError(err, op, key, { account: this.config.account, container: this.config.container, credentialSource: this.credential.source });
  }
}

function isMissing(err: unknown): boolean {
  return azureStatus(err) === 404 && azureCode(err) !== "ContainerNotFound";
}

function notFound(key: string): BakeliteError {
  return new BakeliteError("NOT_FOUND", `object not found: ${key}`);
}

async function* skipBytes(stream: AsyncIterable<Buffer>, skip: number): AsyncGenerator<Uint8Array> {
  let left = skip;
  for await (const buf of stream) {
    let chunk: Uint8Array = buf;
    if (left > 0) {
      const drop = Math.min(left, chunk.length);
      left -= drop;
      chunk = chunk.subarray(drop);
    }
    if (chunk.length > 0) yield chunk;
  }
}
