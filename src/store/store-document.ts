import type { TokenSet } from "../core/ports.js";

/**
 * The token store's document (schema version 1) and its validation. Entries are checked one by one:
 * a malformed entry is reported and left out, the valid ones are kept. Only text that is not a
 * version-1 store at all is corrupt. Values are rebuilt from known fields, so nothing nested from the
 * file (however deep) is carried into a later write.
 */
export const STORE_VERSION = 1;

export interface StoredSession extends TokenSet {
  preset: string;
  issuer: string;
  clientId: string;
  /** The machine identity's grant kind; absent for a person's login. */
  identity?: string;
  updatedAt: number;
}

export interface StoredApiKey {
  key: string;
  savedAt: number;
  /** The gateway base URL the key may be sent to (set when stored; old keys are bound at first use). */
  binding?: string;
}

export interface StoreData {
  version: typeof STORE_VERSION;
  sessions: Record<string, StoredSession>;
  apiKeys: Record<string, StoredApiKey>;
}

/** The encrypted form: the same document, sealed with a key that the OS keyring holds. */
export interface SealedEnvelope {
  alg: "A256GCM";
  keyring: { service: string; account: string };
  iv: string;
  tag: string;
  data: string;
}

/** A part of the document that was left out, and why (never a secret: only names and types). */
export interface Rejected {
  where: string;
  reason: string;
}

export type ParsedDocument =
  | { kind: "store"; data: StoreData; rejected: Rejected[] }
  | { kind: "sealed"; envelope: SealedEnvelope }
  | { kind: "corrupt"; reason: string }
  | { kind: "newer"; version: number };

export const emptyStore = (): StoreData => ({ version: STORE_VERSION, sessions: {}, apiKeys: {} });

type Fields = Record<string, unknown>;

const isRecord = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const typeName = (value: unknown): string =>
  Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`;

const isPrimitive = (value: unknown): boolean =>
  value === null || ["string", "number", "boolean"].includes(typeof value);

/** Sets an own property, so that a key like `__proto__` from the file stays plain data. */
function put<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

type Rule = "string" | "number" | "optional-string" | "optional-number";

const SESSION_FIELDS: Record<string, Rule> = {
  accessToken: "string",
  tokenType: "string",
  expiresAt: "number",
  obtainedAt: "number",
  refreshToken: "optional-string",
  idToken: "optional-string",
  scope: "optional-string",
  binding: "optional-string",
  preset: "optional-string",
  issuer: "optional-string",
  clientId: "optional-string",
  identity: "optional-string",
  updatedAt: "optional-number",
};

const API_KEY_FIELDS: Record<string, Rule> = {
  key: "string",
  savedAt: "optional-number",
  binding: "optional-string",
};

/**
 * Checks an entry's known fields and copies them, with the unknown fields whose values are plain
 * strings, numbers, booleans or null (a newer minor release may add such fields). The first problem
 * found is returned instead.
 */
function checkEntry(value: unknown, rules: Record<string, Rule>): Fields | string {
  if (!isRecord(value)) return `is ${typeName(value)}, not an object`;
  const out: Fields = {};
  for (const [name, rule] of Object.entries(rules)) {
    const field = value[name];
    if (field === undefined && rule.startsWith("optional")) continue;
    const wanted = rule.endsWith("string") ? "string" : "number";
    const ok = wanted === "string" ? typeof field === "string" && field !== "" : Number.isFinite(field);
    if (!ok)
      return `has ${name} ${field === undefined ? "missing" : `as ${typeName(field)}`}, not a ${wanted === "string" ? "non-empty string" : "finite number"}`;
    put(out, name, field);
  }
  for (const [name, field] of Object.entries(value)) {
    if (!(name in rules) && isPrimitive(field)) put(out, name, field);
  }
  return out;
}

function checkSection<T>(
  section: unknown,
  name: "sessions" | "apiKeys",
  rules: Record<string, Rule>,
  rejected: Rejected[],
): Record<string, T> {
  const out: Record<string, T> = {};
  if (section === undefined) return out;
  if (!isRecord(section)) {
    rejected.push({ where: name, reason: `is ${typeName(section)}, not an object` });
    return out;
  }
  for (const [id, value] of Object.entries(section)) {
    const entry = checkEntry(value, rules);
    if (typeof entry === "string") rejected.push({ where: `${name}["${id}"]`, reason: entry });
    else put(out, id, entry as T);
  }
  return out;
}

function checkEnvelope(value: unknown): SealedEnvelope | undefined {
  if (!isRecord(value) || value.alg !== "A256GCM" || !isRecord(value.keyring)) return undefined;
  const { service, account } = value.keyring;
  const strings = [service, account, value.iv, value.tag, value.data];
  if (!strings.every((s) => typeof s === "string" && s !== "")) return undefined;
  return {
    alg: "A256GCM",
    keyring: { service: service as string, account: account as string },
    iv: value.iv as string,
    tag: value.tag as string,
    data: value.data as string,
  };
}

/** Parses the store's text. Never throws (JSON.parse does not recurse, so nesting depth is no risk). */
export function parseStoreDocument(text: string): ParsedDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "corrupt", reason: "not valid JSON" };
  }
  if (!isRecord(value)) return { kind: "corrupt", reason: "not a JSON object" };
  if (typeof value.version === "number" && value.version > STORE_VERSION)
    return { kind: "newer", version: value.version };
  if (value.version !== STORE_VERSION)
    return { kind: "corrupt", reason: "not a token store of schema version 1" };
  if (value.sealed !== undefined) {
    const envelope = checkEnvelope(value.sealed);
    return envelope
      ? { kind: "sealed", envelope }
      : { kind: "corrupt", reason: "a malformed encrypted store" };
  }
  if (value.sessions === undefined && value.apiKeys === undefined)
    return { kind: "corrupt", reason: "not a token store of schema version 1" };
  const rejected: Rejected[] = [];
  const sessions = checkSection<StoredSession>(value.sessions, "sessions", SESSION_FIELDS, rejected);
  const apiKeys = checkSection<StoredApiKey>(value.apiKeys, "apiKeys", API_KEY_FIELDS, rejected);
  return { kind: "store", data: { version: STORE_VERSION, sessions, apiKeys }, rejected };
}

export function toTokenSet(entry: StoredSession | undefined): TokenSet | undefined {
  if (!entry) return undefined;
  const { preset: _p, issuer: _i, clientId: _c, identity: _m, updatedAt: _u, ...tokens } = entry;
  return tokens;
}
