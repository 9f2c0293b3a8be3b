/**
 * Shared fixtures for the engine's integration tests: a temp home, a manual clock, the sandbox IdP
 * with test-friendly defaults, a fast device login, sessions on a real token store, and small
 * recorders (storage calls, fetches, log lines, sleeps).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REFRESH_RETRY } from "../../src/core/defaults.js";
import { isOidcError, type OidcError } from "../../src/core/errors.js";
import type { OidcSettings } from "../../src/core/oauth/client.js";
import { pollDeviceToken, startDeviceAuthorization } from "../../src/core/oauth/device.js";
import type {
  Clock,
  FetchLike,
  Logger,
  LogLevel,
  SessionKey,
  TokenSet,
  TokenStorage,
} from "../../src/core/ports.js";
import { type RetryPolicy, Session } from "../../src/core/session.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type IdpOptions, startIdp, type TestIdp } from "../../src/sandbox/idp.js";
import { FileTokenStore } from "../../src/store/token-store.js";

export const PRESET = "haiilo";
export const API_SCOPE = "haiiloai:inference";
export const SCOPES = ["openid", "profile", "email", "offline_access", API_SCOPE];

export interface TempHome {
  dir: string;
  /** HOME and the XDG folders, to merge into a child's environment or pass to storePaths(). */
  env: Record<"HOME" | "XDG_CONFIG_HOME" | "XDG_DATA_HOME" | "XDG_CACHE_HOME", string>;
  authDir: string;
  tokenFile: string;
  logFile: string;
  cleanup(): void;
}

/** A fresh home folder; nothing inside it exists yet (the code under test creates what it needs). */
export function tempHome(): TempHome {
  const dir = mkdtempSync(join(tmpdir(), "engine-test-"));
  const configHome = join(dir, "config");
  const authDir = join(configHome, "opencode-auth");
  return {
    dir,
    env: {
      HOME: dir,
      XDG_CONFIG_HOME: configHome,
      XDG_DATA_HOME: join(dir, "data"),
      XDG_CACHE_HOME: join(dir, "cache"),
    },
    authDir,
    tokenFile: join(authDir, "tokens.json"),
    logFile: join(authDir, "log", "okta-auth.log"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A clock that starts at the real time and moves only when told to (the IdP keeps real time). */
export interface ManualClock extends Clock {
  advance(ms: number): void;
}
export function manualClock(): ManualClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance(ms) {
      offset += ms;
    },
  };
}

/** The sandbox IdP with a 1 s device interval and the gateway's API scope. */
export function startTestIdp(options: IdpOptions = {}): Promise<TestIdp> {
  return startIdp({ deviceInterval: 1, scopes: [API_SCOPE], ...options });
}

export function oidcSettings(idp: TestIdp): OidcSettings {
  return {
    issuer: idp.issuer,
    clientId: idp.clientId,
    scopes: SCOPES,
    audience: null,
    audienceParam: "none",
  };
}

export function sessionKey(idp: TestIdp): SessionKey {
  return { preset: PRESET, issuer: idp.issuer, clientId: idp.clientId };
}

/** A device login without waiting: approve first, then a single poll (no real sleep). */
export async function quickLogin(idp: TestIdp, login = "alice"): Promise<TokenSet> {
  const settings = oidcSettings(idp);
  const auth = await startDeviceAuthorization(settings);
  if (!auth.verificationUriComplete) throw new Error("the IdP sent no verification_uri_complete");
  await approveDevice(auth.verificationUriComplete, { login });
  return pollDeviceToken(settings, auth, { sleep: async () => {} });
}

export interface RecordingLogger extends Logger {
  lines: Array<{ level: LogLevel; message: string; fields?: Record<string, unknown> }>;
}
export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger["lines"] = [];
  return {
    lines,
    log: (level, message, fields) => void lines.push({ level, message, ...(fields && { fields }) }),
  };
}

/** Wraps a TokenStorage and counts every call (to show a fresh token is answered without I/O). */
export function countingStorage(
  inner: TokenStorage,
): TokenStorage & { calls: { read: number; transact: number } } {
  const calls = { read: 0, transact: 0 };
  return {
    calls,
    read(key, options) {
      calls.read += 1;
      return inner.read(key, options);
    },
    transact(key, fn, options) {
      calls.transact += 1;
      return inner.transact(key, fn, options);
    },
  };
}

/** A fetch that records every request's method and URL before sending it. */
export function recordingFetch(): FetchLike & { requests: Array<{ method: string; url: string }> } {
  const requests: Array<{ method: string; url: string }> = [];
  const f = ((input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    requests.push({ method: init?.method ?? (input instanceof Request ? input.method : "GET"), url });
    return fetch(input, init);
  }) as FetchLike & { requests: typeof requests };
  f.requests = requests;
  return f;
}

/**
 * The waits a Session asks for between the attempts of one refresh under the default policy
 * (src/core/defaults.ts): one fewer than the attempts, doubling from the base delay, capped.
 */
export function defaultBackoff(): number[] {
  return Array.from({ length: REFRESH_RETRY.attempts - 1 }, (_, i) =>
    Math.min(REFRESH_RETRY.maxDelayMs, REFRESH_RETRY.baseDelayMs * 2 ** i),
  );
}

export interface SessionFixture {
  session: Session;
  store: FileTokenStore;
  clock: ManualClock;
  logger: RecordingLogger;
  key: SessionKey;
  /** Every wait the session asked for between refresh retries (they resolve at once). */
  retrySleeps: number[];
}

export interface SessionFixtureOptions {
  skewSeconds?: number;
  storage?: (store: FileTokenStore) => TokenStorage;
  fetch?: FetchLike;
  retry?: Partial<RetryPolicy>;
  clock?: ManualClock;
}

/** A Session on a real FileTokenStore in `home`, with a manual clock and instant retry sleeps. */
export function sessionFixture(
  idp: TestIdp,
  home: TempHome,
  options: SessionFixtureOptions = {},
): SessionFixture {
  const logger = recordingLogger();
  const store = new FileTokenStore(home.tokenFile, logger);
  const clock = options.clock ?? manualClock();
  const retrySleeps: number[] = [];
  const key = sessionKey(idp);
  const session = new Session({
    key,
    settings: oidcSettings(idp),
    storage: options.storage ? options.storage(store) : store,
    skewSeconds: options.skewSeconds ?? 300,
    clock,
    logger,
    ...(options.fetch && { fetch: options.fetch }),
    ...(options.retry && { retry: options.retry }),
    sleep: async (ms) => void retrySleeps.push(ms),
  });
  return { session, store, clock, logger, key, retrySleeps };
}

/** Moves a stored session's times so that it expires in `expiresInMs` (as if time had passed). */
export async function ageStoredSession(
  store: TokenStorage,
  key: SessionKey,
  expiresInMs: number,
  now = Date.now(),
): Promise<void> {
  await store.transact(key, async (current) => {
    if (!current) throw new Error("no stored session to age");
    const lifetime = current.expiresAt - current.obtainedAt;
    return {
      next: { ...current, expiresAt: now + expiresInMs, obtainedAt: now + expiresInMs - lifetime },
      result: undefined,
    };
  });
}

/** The OidcError a promise rejects with; fails the test if it resolves or throws something else. */
export async function rejection(promise: Promise<unknown>): Promise<OidcError> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    if (isOidcError(error)) return error;
    throw new Error(`expected an OidcError, got ${String(error)}`, { cause: error });
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)?.slice(0, 200)}`);
}

/** A promise with its resolve function (an event the test can wait for). */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
