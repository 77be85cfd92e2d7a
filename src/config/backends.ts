/**
 * @module config/backends
 * Validates one backend table ([[backends]] or [[database.backends]]) into a
 * BackendConfig: keys per type from config/backend-schema.ts, defaults, and
 * the rules that tie keys together (KMS key with aws:kms, Object Lock needs
 * checksums, one password source).
 */
import type { BackendConfig } from "./types.ts";
import { backendKeys, backendTypes, commonBackendKeys, type BackendType } from "./backend-schema.ts";
import { checkKeys, closest, isTable, readValue, typeName, type Table, type Where } from "./check.ts";
import { tunableKeys } from "./schema.ts";
import type { KeySpec } from "./schema.ts";
import { showValue } from "./units.ts";

/** Fills `out` from `table` for each spec: validated value, else parsed default, else required error. */
export function readKeys(table: Table, specs: KeySpec[], where: Where, out: Record<string, unknown>): void {
  for (const spec of specs) {
    const raw = table[spec.key];
    if (raw !== undefined) {
      out[spec.field] = readValue(spec.kind, raw, where, spec.key, spec.secret);
    } else if (spec.default !== undefined) {
      out[spec.field] = readValue(spec.kind, spec.default, where, spec.key);
    } else if (spec.required) {
      throw where.fail(`missing required key "${spec.key}"`);
    }
  }
}

/** Trims slashes; refuses empty, "." and ".." segments, which would escape or alias other keys. */
function normalizePrefix(value: string, where: Where): string {
  const trimmed = value.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  if (trimmed.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw where.fail(`prefix = ${showValue(value)}: empty, "." and ".." path segments are not allowed`);
  }
  return trimmed;
}

const tunableNames = tunableKeys.map((k) => k.key);

/**
 * `where` names the table, e.g. `[[backends]] #1` or
 * `[[database]] "app" [[database.backends]] #2`; the type is appended once known.
 */
export function readBackend(raw: unknown, where: Where): BackendConfig {
  if (!isTable(raw)) throw where.fail(`expected a table, got ${typeName(raw)}`);
  const type = raw.type;
  if (type === undefined) throw where.fail(`missing required key "type" (one of ${backendTypes.join(", ")})`);
  if (typeof type !== "string" || !(backendTypes as readonly string[]).includes(type)) {
    const guess = typeof type === "string" ? closest(type, backendTypes) : undefined;
    throw where.fail(
      `type = ${showValue(type)}: unknown backend type; expected one of ${backendTypes.join(", ")}` +
        (guess ? ` (did you mean "${guess}"?)` : ""),
    );
  }
  const specs = [...commonBackendKeys, ...backendKeys[type as BackendType]];
  const at = where.nest(`(${type})`);
  const elsewhere: Record<string, string> = Object.fromEntries(
    tunableNames.map((k) => [k, "it is a database setting: put it in [defaults] or the [[database]] block"]),
  );
  for (const spec of backendKeys.s3.concat(backendKeys.gcs, backendKeys.azure, backendKeys.sftp)) {
    if (specs.some((s) => s.key === spec.key)) continue;
    const users = backendTypes.filter((t) => backendKeys[t].some((s) => s.key === spec.key));
    elsewhere[spec.key] = `only ${users.join(", ")} backends take it`;
  }
  checkKeys(raw, specs.map((s) => s.key), at, elsewhere);
  const out: Record<string, unknown> = {};
  readKeys(raw, specs, at, out);
  if (typeof out.prefix === "string") out.prefix = normalizePrefix(out.prefix, at);
  if (type === "s3") checkS3(out, at, raw);
  if (type === "sftp" && out.password !== undefined && out.passwordEnv !== undefined) {
    throw at.fail("set either password or password_env, not both");
  }
  return out as unknown as BackendConfig;
}

function checkS3(out: Record<string, unknown>, at: Where, raw: Table): void {
  out.forcePathStyle ??= out.endpoint !== undefined;
  if (out.sse === "aws:kms" && out.sseKmsKeyId === undefined) {
    throw at.fail('sse = "aws:kms" needs sse_kms_key_id (the KMS key to encrypt with)');
  }
  if (out.sseKmsKeyId !== undefined && out.sse !== "aws:kms") {
    throw at.fail('sse_kms_key_id is only used with sse = "aws:kms"');
  }
  // Object Lock buckets refuse uploads that carry no checksum, so expecting a
  // lock turns checksums on unless the user turned them off in so many words.
  if (out.expectObjectLock === true && raw.checksum === undefined) out.checksum = true;
  if (out.expectObjectLock === true && out.checksum !== true) {
    throw at.fail(
      "expect_object_lock = true needs checksum = true",
      "Object Lock buckets refuse uploads that carry no checksum; remove checksum = false.",
    );
  }
}
