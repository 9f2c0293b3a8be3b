/** The small interfaces the engine depends on; the store and hosts provide them. */

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export type LogLevel = "debug" | "info" | "warn" | "error";
export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}
export const silentLogger: Logger = { log() {} };

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A token set as the engine keeps it. Times are epoch milliseconds. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  tokenType: string;
  scope?: string;
  expiresAt: number;
  obtainedAt: number;
  /** Where these tokens may be sent (set by the host at login, e.g. the gateway and token endpoint). */
  binding?: string;
}

export interface SessionKey {
  preset: string;
  issuer: string;
  clientId: string;
  /** Set for a machine identity (its grant kind), so its tokens never mix with a person's login. */
  identity?: string;
}

export interface StorageOptions {
  /** The caller's deadline: waiting for the lock (or the keyring) stops with ABORTED when it fires. */
  signal?: AbortSignal;
}

/**
 * Persistent token storage shared by processes. `transact` holds a cross-process lock from reading
 * through `fn` to the write, and re-reads the stored value under that lock.
 */
export interface TokenStorage {
  read(key: SessionKey, options?: StorageOptions): Promise<TokenSet | undefined>;
  transact<T>(
    key: SessionKey,
    fn: (current: TokenSet | undefined) => Promise<{ next?: TokenSet | null; result: T }>,
    options?: StorageOptions,
  ): Promise<T>;
}
