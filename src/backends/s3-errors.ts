/**
 * @module backends/s3-errors
 * Turns whatever the AWS SDK (or the socket under it) throws into one
 * BakeliteError: the code and the retryable flag decide whether the daemon
 * backs off and tries again (network resets, timeouts, 5xx, 408, 429) or stops
 * and tells someone (credentials, permissions, a missing bucket). Messages
 * start with "s3 backend:", name the operation and key, carry the original as
 * `cause`, and have every known secret blanked out.
 */
import { BakeliteError } from "../errors.ts";

export type S3Op =
  | "put" | "get" | "stat" | "list" | "delete" | "multipart" | "list uploads" | "abort upload"
  | "versioning" | "list versions" | "object lock";

/** Error names S3 (and compatible services) use for "who are you / you may not". */
const AUTH_NAMES = new Set([
  "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
  "TokenRefreshRequired", "InvalidClientTokenId", "UnrecognizedClientException", "CredentialsProviderError",
  "AllAccessDisabled", "AccountProblem", "InvalidSecurity", "RequestTimeTooSkewed",
]);
/** Transient conditions named in the body while the status may be 200 or 400 (e.g. behind some gateways). */
const RETRY_NAMES = new Set([
  "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ThrottlingException",
  "RequestLimitExceeded", "TooManyRequestsException", "BandwidthLimitExceeded", "EC2ThrottledException",
]);
const NETWORK_CODES = new Set([
  "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH",
  "ENETUNREACH", "ENETDOWN", "EHOSTDOWN", "UND_ERR_SOCKET", "ERR_STREAM_PREMATURE_CLOSE", "ConnectionRefused",
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

export function httpStatusOf(err: unknown): number | undefined {
  const e = err as SdkErrorShape | undefined;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
}

export function errorNameOf(err: unknown): string {
  const e = err as SdkErrorShape | undefined;
  return e?.Code ?? e?.name ?? e?.code ?? "Error";
}

/**
 * True for "this key (or upload) does not exist". A missing bucket is not a
 * missing key: with a body (GET, DELETE) S3 says NoSuchBucket, and that is
 * classified as the bucket error. A HEAD's 404 has no body to tell the two
 * apart; S3Backend.stat asks about the bucket itself then.
 */
export function isMissing(err: unknown): boolean {
  const name = errorNameOf(err);
  if (name === "NoSuchBucket") return false;
  return httpStatusOf(err) === 404 || name === "NoSuchKey" || name === "NotFound" || name === "NoSuchUpload";
}

/** Replaces each secret in `text` by "***" (belt and braces: SDK messages should never hold them). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("***");
  return out;
}

export interface ClassifyContext {
  op: S3Op;
  key?: string;
  bucket: string;
  secrets: readonly string[];
  /** The per-request timeout fired (our own AbortSignal), so an abort means "timed out". */
  timedOut?: boolean;
  timeoutMs?: number;
}

export function classifyS3Error(err: unknown, ctx: ClassifyContext): BakeliteError {
  if (err instanceof BakeliteError) return err;
  const status = httpStatusOf(err);
  const name = errorNameOf(err);
  const sys = (err as { code?: string; cause?: { code?: string } } | undefined) ?? {};
  const netCode = sys.code ?? sys.cause?.code;
  const raw = err instanceof Error ? err.message : String(err);
  const detail = redact(raw && raw !== name && raw !== "UnknownError" ? `${name}: ${raw}` : name, ctx.secrets);
  const what = ctx.key ? `s3 backend: ${ctx.op} ${ctx.key} failed` : `s3 backend: ${ctx.op} failed`;
  const make = (code: "BACKEND_IO" | "BACKEND_AUTH" | "BACKEND_TIMEOUT" | "NOT_FOUND", message: string, retryable: boolean, hint?: string) =>
    new BakeliteError(code, message, { cause: err, retryable, hint });

  if (ctx.timedOut || name === "TimeoutError" || name === "RequestTimeout" || status === 408 || netCode === "ETIMEDOUT") {
    const after = ctx.timedOut && ctx.timeoutMs ? ` (no answer within ${ctx.timeoutMs} ms)` : "";
    return make("BACKEND_TIMEOUT", `${what}: timed out${after}: ${detail}`, true,
      "Check the network path to the endpoint; raise request_timeout for slow links.");
  }
  if (status === 401 || status === 403 || AUTH_NAMES.has(name)) {
    const hint = name === "RequestTimeTooSkewed"
      ? "This host's clock is too far off; enable NTP (timedatectl set-ntp true)."
      : name === "CredentialsProviderError"
        ? "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for example in /etc/bakelite/bakelite.env)."
        : `Check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and that they may use bucket "${ctx.bucket}" (see the IAM policy in docs/backends.md).`;
    return make("BACKEND_AUTH", `${what}: access refused: ${detail}`, false, hint);
  }
  if (name === "NoSuchBucket") {
    return make("BACKEND_IO", `${what}: bucket "${ctx.bucket}" does not exist`, false,
      "Create the bucket (bakelite never creates buckets) or fix bucket/endpoint/region in the config.");
  }
  if (name === "PermanentRedirect" || name === "AuthorizationHeaderMalformed" || status === 301) {
    return make("BACKEND_IO", `${what}: wrong region or endpoint: ${detail}`, false,
      `Set region to the bucket's region (bucket "${ctx.bucket}").`);
  }
  if (status === 429 || (status !== undefined && status >= 500) || RETRY_NAMES.has(name)) {
    return make("BACKEND_IO", `${what}: service unavailable (${status ?? "?"}): ${detail}`, true);
  }
  if (status !== undefined && status >= 400) {
    return make("BACKEND_IO", `${what}: request refused (${status}): ${detail}`, false);
  }
  if (netCode && NETWORK_CODES.has(netCode)) {
    return make("BACKEND_IO", `${what}: network error: ${detail}`, true);
  }
  // No HTTP status: the request never got an answer (socket closed, parse error on a cut response).
  // A backup tool keeps trying rather than give up on an unknown transport failure.
  return make("BACKEND_IO", `${what}: ${detail}`, true);
}
