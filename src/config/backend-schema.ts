/**
 * @module config/backend-schema
 * The keys of each backend type, and the storage classes each provider may
 * use. Only classes readable at once are allowed: restore reads objects
 * immediately, and a class that needs a thaw (hours) would turn a restore
 * into a failure exactly when it is needed.
 */
import { BakeliteError } from "../errors.ts";
import { type Kind, MAX_TIMER_MS } from "./check.ts";
import type { KeySpec } from "./schema.ts";

export const backendTypes = ["file", "s3", "gcs", "azure", "sftp"] as const;
export type BackendType = (typeof backendTypes)[number];

type Provider = "s3" | "gcs" | "azure";

const storageClasses: Record<Provider, { name: string; allowed: string[]; rejected: Record<string, string> }> = {
  s3: {
    name: "S3",
    allowed: ["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"],
    rejected: {
      GLACIER: "GLACIER (Flexible Retrieval) objects need a thaw of minutes to hours before they can be read",
      DEEP_ARCHIVE: "DEEP_ARCHIVE objects need a thaw of hours before they can be read",
    },
  },
  gcs: { name: "GCS", allowed: ["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"], rejected: {} },
  azure: {
    name: "Azure",
    allowed: ["Hot", "Cool", "Cold"],
    rejected: { Archive: "Archive blobs need hours of rehydration before they can be read" },
  },
};

/** Case-insensitive match against a provider's class names, returned in the provider's spelling. */
export function checkStorageClass(provider: Provider, value: string, at: string): string {
  const table = storageClasses[provider];
  const find = (names: string[]) => names.find((n) => n.toLowerCase() === value.trim().toLowerCase());
  const allowed = find(table.allowed);
  if (allowed) return allowed;
  const rejected = find(Object.keys(table.rejected));
  const choices = table.allowed.join(", ");
  if (rejected) {
    throw new BakeliteError(
      "CONFIG_INVALID",
      `${at} = "${value}": refused: ${table.rejected[rejected]}, and restore must read at once`,
      { hint: `Use a class that is readable at once: ${choices}.` },
    );
  }
  throw new BakeliteError("CONFIG_INVALID", `${at} = "${value}": unknown ${table.name} storage class; expected one of ${choices}`);
}

export function storageClassesText(provider: Provider): { allowed: string[]; rejected: string[] } {
  return { allowed: storageClasses[provider].allowed, rejected: Object.keys(storageClasses[provider].rejected) };
}

const str: Kind = { type: "string" };
const path: Kind = { type: "path" };
const bool: Kind = { type: "boolean" };
const timeout: Kind = { type: "duration", positive: true, max: MAX_TIMER_MS };
const retries: Kind = { type: "integer", min: 0 };
const classKind = (provider: Provider): Kind => ({
  type: "custom",
  label: "storage class",
  parse: (value, at) => checkStorageClass(provider, value, at),
});

/** Keys every backend accepts. */
export const commonBackendKeys: KeySpec[] = [
  { key: "type", field: "type", kind: { type: "enum", values: backendTypes }, required: true,
    meaning: "Which kind of storage this is." },
  { key: "mode", field: "mode", kind: { type: "enum", values: ["sync", "async"] }, default: "sync",
    meaning: 'sync destinations are written in lock-step with replication. async ones are to be copied to in the background; this build does not do that yet and refuses to replicate a database that has one. Every database needs at least one sync destination.' },
];

const prefix: KeySpec = { key: "prefix", field: "prefix", kind: { type: "string", allowEmpty: true }, default: "",
  meaning: "Key prefix inside the bucket or container. Each database's objects go under `<prefix>/<database name>/`." };
const requestTimeout: KeySpec = { key: "request_timeout", field: "requestTimeoutMs", kind: timeout, defaultText: "client default",
  meaning: "Upper bound on one request." };
const maxRetries: KeySpec = { key: "max_retries", field: "maxRetries", kind: retries, defaultText: "client default",
  meaning: "Retries per request." };
const endpoint: KeySpec = { key: "endpoint", field: "endpoint", kind: { type: "url" },
  meaning: "Custom service URL, for a compatible provider or an emulator. http:// sends credentials in the clear; use it only for local emulators." };

export const backendKeys: Record<BackendType, KeySpec[]> = {
  file: [
    { key: "path", field: "path", kind: path, required: true,
      meaning: "Directory the replica lives in. A relative path is taken relative to the config file's directory." },
  ],
  s3: [
    { key: "bucket", field: "bucket", kind: str, required: true, meaning: "Bucket name." },
    prefix,
    endpoint,
    { key: "region", field: "region", kind: str, meaning: "Region; must match the service when an endpoint is set." },
    { key: "force_path_style", field: "forcePathStyle", kind: bool, defaultText: "true when endpoint is set, else false",
      meaning: "Address the bucket in the URL path rather than the host name (MinIO and B2 need this)." },
    requestTimeout,
    maxRetries,
    { key: "checksum", field: "checksum", kind: bool, default: false,
      meaning: "Send a SHA-256 with each upload so S3 verifies it on arrival. Object Lock buckets require it." },
    { key: "sse", field: "sse", kind: { type: "enum", values: ["aes256", "aws:kms"] },
      meaning: "Server-side encryption: S3-managed keys (aes256) or a KMS key (aws:kms)." },
    { key: "sse_kms_key_id", field: "sseKmsKeyId", kind: str, meaning: 'KMS key for sse = "aws:kms"; required with it.' },
    { key: "storage_class", field: "storageClass", kind: classKind("s3"), defaultText: "bucket default",
      meaning: "Class for cold objects (snapshots, compacted change-sets): STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING or GLACIER_IR. GLACIER and DEEP_ARCHIVE are refused." },
    { key: "expect_object_lock", field: "expectObjectLock", kind: bool, default: false, pending: true,
      meaning: "`bakelite doctor` fails unless the bucket has Object Lock on. Turns checksum on (Object Lock buckets refuse uploads without one); checksum = false with it is an error." },
  ],
  gcs: [
    { key: "bucket", field: "bucket", kind: str, required: true, meaning: "Bucket name." },
    prefix,
    { key: "service_account_path", field: "serviceAccountPath", kind: path,
      meaning: "Service-account JSON key, for hosts outside Google Cloud." },
    endpoint,
    requestTimeout,
    maxRetries,
    { key: "storage_class", field: "storageClass", kind: classKind("gcs"), defaultText: "bucket default",
      meaning: "Class for cold objects: STANDARD, NEARLINE, COLDLINE or ARCHIVE (all readable at once)." },
  ],
  azure: [
    { key: "account", field: "account", kind: str, required: true, meaning: "Storage account name." },
    { key: "container", field: "container", kind: str, required: true, meaning: "Container name." },
    prefix,
    endpoint,
    requestTimeout,
    maxRetries,
    { key: "storage_class", field: "storageClass", kind: classKind("azure"), defaultText: "account default",
      meaning: "Access tier for cold objects: Hot, Cool or Cold. Archive is refused." },
  ],
  sftp: [
    { key: "host", field: "host", kind: str, required: true, meaning: "Server host name or address." },
    { key: "port", field: "port", kind: { type: "integer", min: 1, max: 65535 }, default: 22, meaning: "SSH port." },
    { key: "user", field: "user", kind: str, required: true, meaning: "Login user." },
    { key: "path", field: "path", kind: str, required: true,
      meaning: "Remote base directory; a relative path is relative to the login directory." },
    { key: "identity_file", field: "identityFile", kind: path, meaning: "Private key file." },
    { key: "passphrase_env", field: "passphraseEnv", kind: { type: "env-name" }, defaultText: "unset: BAKELITE_SFTP_KEY_PASSPHRASE is read",
      meaning: "Environment variable holding the private key's passphrase." },
    { key: "password_env", field: "passwordEnv", kind: { type: "env-name" }, defaultText: "unset: BAKELITE_SFTP_PASSWORD is read",
      meaning: "Environment variable holding the password." },
    { key: "password", field: "password", kind: str, secret: true,
      meaning: "Password written in the config itself; a last resort, prefer password_env. Not together with password_env." },
    { key: "known_hosts", field: "knownHosts", kind: path, defaultText: "unset: ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts are read",
      meaning: "known_hosts file used to check the server's host key." },
    { key: "insecure_skip_host_key_check", field: "insecureSkipHostKeyCheck", kind: bool, default: false,
      meaning: "Accept any host key. Only for throw-away test servers." },
    { key: "connect_timeout", field: "connectTimeoutMs", kind: timeout, default: "30s", meaning: "Upper bound on connecting." },
    { key: "request_timeout", field: "requestTimeoutMs", kind: timeout, default: "30s", meaning: "Upper bound on one request." },
  ],
};
