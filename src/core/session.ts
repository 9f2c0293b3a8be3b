import { setTimeout as delay } from "node:timers/promises";
import { REFRESH_RETRY } from "./defaults.js";
import { describeError, ErrorCode, isOidcError, OidcError } from "./errors.js";
import type { OidcSettings, RequestContext } from "./oauth/client.js";
import type { RevokeResult } from "./oauth/revoke.js";
import {
  type Clock,
  type FetchLike,
  type Logger,
  type SessionKey,
  type StorageOptions,
  silentLogger,
  systemClock,
  type TokenSet,
  type TokenStorage,
} from "./ports.js";
import { registerSecret } from "./redact.js";

export interface RetryPolicy {
  /** Refresh attempts per refresh, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** After a transient failure with a still-valid token, wait this long before trying again. */
  cooldownMs: number;
  /** IdP timeout of the single attempt made while the current token still works. */
  quickTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { ...REFRESH_RETRY };

export interface SessionOptions {
  key: SessionKey;
  settings: OidcSettings;
  storage: TokenStorage;
  skewSeconds: number;
  clock?: Clock;
  fetch?: FetchLike;
  logger?: Logger;
  retry?: Partial<RetryPolicy>;
  idpTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Where this configuration sends tokens. A stored login made for another binding is not used
   * (SESSION_ELSEWHERE): a changed configuration must not carry an existing login to a new host.
   */
  binding?: string;
  /** The tenant's name, for messages ("Not logged in to …"). */
  tenantName?: string;
  /** Shown in the SESSION_ELSEWHERE message instead of the raw binding. */
  describeBinding?: (binding: string | undefined) => string;
  /**
   * For a machine identity: gets a new token set with nobody at the keyboard (client credentials,
   * token exchange). Used when nothing usable is stored and instead of the refresh token grant, under
   * the same single flight and lock.
   */
  obtain?: (ctx: ObtainContext) => Promise<TokenSet>;
}

export interface ObtainContext {
  signal?: AbortSignal;
  timeoutMs?: number;
  clock: Clock;
}

export interface AccessTokenOptions {
  /** Refresh even if the token looks fresh (the gateway rejected it). */
  rejected?: string;
  signal?: AbortSignal;
}

/**
 * The current access token of one login. Answers from memory while the token is fresh; otherwise one
 * refresh per process (single-flight) and one per machine (the storage lock, re-reading under it).
 */
export class Session {
  readonly key: SessionKey;
  private memory: TokenSet | undefined;
  private inflight: Promise<TokenSet> | undefined;
  private retryAfter = 0;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Refresh-token grants this process has sent (for tests and benchmarks). */
  refreshCalls = 0;

  constructor(private readonly options: SessionOptions) {
    this.key = options.key;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.sleep = options.sleep ?? ((ms) => delay(ms));
  }

  /** A valid access token. Throws NOT_LOGGED_IN, SESSION_ENDED or IDP_UNAVAILABLE (session kept). */
  async getAccessToken(options: AccessTokenOptions = {}): Promise<string> {
    const memory = this.memory;
    if (memory && !options.rejected && this.isFresh(memory)) return memory.accessToken;
    for (;;) {
      const joined = this.inflight !== undefined;
      if (!this.inflight) {
        this.inflight = this.renew(options).finally(() => {
          this.inflight = undefined;
        });
      }
      const token = (await this.inflight).accessToken;
      // A renewal started by someone else may hand back the very token the gateway just rejected.
      if (!joined || token !== options.rejected) return token;
    }
  }

  /** The stored token set, if any (reads storage; for status displays). */
  async current(): Promise<TokenSet | undefined> {
    return this.options.storage.read(this.key);
  }

  /**
   * Stores the tokens of a new login. If they cannot be stored (a full disk, say, after the check
   * before the login), they are revoked at the issuer and the error says so: an approved login is
   * never dropped while it stays valid somewhere unseen.
   */
  async save(tokens: TokenSet, options: StorageOptions = {}): Promise<void> {
    const bound: TokenSet = {
      ...tokens,
      ...(this.options.binding !== undefined && { binding: this.options.binding }),
    };
    try {
      await this.options.storage.transact(
        this.key,
        async () => ({ next: bound, result: undefined }),
        options,
      );
    } catch (error) {
      throw await this.unstored(bound, error);
    }
    this.memory = bound;
    this.retryAfter = 0;
  }

  private async unstored(tokens: TokenSet, error: unknown): Promise<OidcError> {
    registerSecret(tokens.accessToken);
    registerSecret(tokens.refreshToken);
    const { revokeTokens } = await import("./oauth/revoke.js");
    const outcome = await revokeTokens(this.options.settings, tokens, { fetch: this.options.fetch }).catch(
      (failure: unknown) => ({ revoked: false, note: describeError(failure) }),
    );
    const code = isOidcError(error) ? error.code : ErrorCode.STORE_WRITE_FAILED;
    this.logger.log("error", "login approved but not stored", {
      code,
      revoked: outcome.revoked,
      note: outcome.note,
    });
    const cause = isOidcError(error) ? error.message : describeError(error);
    const reason = /[.!?]$/.test(cause) ? cause : `${cause}.`;
    const fate = outcome.revoked
      ? "They were revoked at the identity provider, so nothing is left valid."
      : `They could not be revoked (${outcome.note}), so they stay valid at the identity provider until they expire (${new Date(tokens.expiresAt).toISOString()}), kept nowhere.`;
    const fix = isOidcError(error) && error.hint ? `${error.hint} ` : "";
    return new OidcError(
      code,
      `The login was approved, but its tokens could not be stored: ${reason} ${fate}`,
      {
        cause: error,
        hint: `${fix}Then log in again.`,
      },
    );
  }

  /**
   * Revokes at the issuer where it can, then deletes the stored login. A login made for other
   * endpoints than this configuration's is neither sent anywhere nor deleted (SESSION_ELSEWHERE):
   * its refresh token goes only to the revocation endpoint it was issued for.
   */
  async logout(ctx: RequestContext = {}): Promise<RevokeResult & { hadSession: boolean }> {
    const removed = await this.options.storage.transact(this.key, async (current) => {
      if (current) this.checkBinding(current);
      return { next: null, result: current };
    });
    this.memory = undefined;
    if (!removed) return { revoked: false, hadSession: false, note: "not logged in" };
    const { revokeTokens } = await import("./oauth/revoke.js");
    const result = await revokeTokens(this.options.settings, removed, { fetch: this.options.fetch, ...ctx });
    this.logger.log("info", "logout", { revoked: result.revoked, note: result.note });
    return { ...result, hadSession: true };
  }

  private isFresh(tokens: TokenSet): boolean {
    const lifetime = tokens.expiresAt - tokens.obtainedAt;
    const skew = Math.min(this.options.skewSeconds * 1000, Math.max(0, lifetime / 2));
    return tokens.expiresAt - skew > this.clock.now();
  }

  /** A machine identity replaces tokens stored for another binding by new ones instead of refusing. */
  private replaceable(tokens: TokenSet): boolean {
    const wanted = this.options.binding;
    return (
      this.options.obtain !== undefined &&
      wanted !== undefined &&
      tokens.binding !== undefined &&
      tokens.binding !== wanted
    );
  }

  private checkBinding(tokens: TokenSet): void {
    const wanted = this.options.binding;
    // Logins stored before bindings existed carry none: accepted, and bound at first use (`bind`).
    if (wanted === undefined || tokens.binding === undefined || tokens.binding === wanted) return;
    const describe = this.options.describeBinding ?? ((b: string | undefined) => String(b));
    throw new OidcError(
      ErrorCode.SESSION_ELSEWHERE,
      `The stored login was made for ${describe(tokens.binding)}, but this configuration would send its tokens to ${describe(wanted)}.`,
      { hint: "If that is intended, log in again with this configuration." },
    );
  }

  /**
   * Binds a login stored before bindings existed to this configuration's gateway and endpoints (its
   * first use after an upgrade), then goes on as usual: refreshed if due.
   */
  private async bind(options: AccessTokenOptions): Promise<TokenSet> {
    const bound = await this.options.storage.transact(
      this.key,
      async (current) => {
        if (!current) throw this.notLoggedIn();
        this.checkBinding(current);
        if (current.binding !== undefined) return { result: current };
        const next = { ...current, binding: this.options.binding };
        return { next, result: next };
      },
      { signal: options.signal },
    );
    this.logger.log("info", "login bound to its gateway at first use");
    if (this.isFresh(bound)) return this.remember(bound);
    return this.renew(options);
  }

  private notLoggedIn(): OidcError {
    const name = this.options.tenantName ?? this.key.preset;
    return new OidcError(
      ErrorCode.NOT_LOGGED_IN,
      `Not logged in to ${name} (preset ${this.key.preset}, issuer ${this.key.issuer}).`,
      { hint: "Log in first." },
    );
  }

  private isUnexpired(tokens: TokenSet): boolean {
    return tokens.expiresAt > this.clock.now() + 5000;
  }

  private async renew(options: AccessTokenOptions): Promise<TokenSet> {
    // Without the lock first: another process may already have stored a fresh token.
    const storage = { signal: options.signal };
    if (!options.rejected) {
      const stored = await this.options.storage.read(this.key, storage);
      // Nobody is logged in: say so without taking the lock (API-key users ask on every request).
      if (!stored && !this.options.obtain) throw this.notLoggedIn();
      if (stored && !this.replaceable(stored)) {
        this.checkBinding(stored);
        if (stored.binding === undefined && this.options.binding !== undefined) return this.bind(options);
        if (this.isFresh(stored)) return this.remember(stored);
        if (this.isUnexpired(stored) && this.clock.now() < this.retryAfter) return this.remember(stored);
      }
    }
    let ended: OidcError | undefined;
    const tokens = await this.options.storage.transact(
      this.key,
      async (found) => {
        const current = found && !this.replaceable(found) ? found : undefined;
        if (!current) {
          if (!this.options.obtain) throw this.notLoggedIn();
          const next = await this.refreshWithRetry(undefined, options.signal, false);
          return { next, result: next };
        }
        registerSecret(current.accessToken);
        registerSecret(current.refreshToken);
        this.checkBinding(current);
        // Without a refresh token a login lasts as long as its access token, and not a moment less.
        if (!current.refreshToken && !this.options.obtain && this.isUnexpired(current))
          return { result: current };
        const replaced = options.rejected !== undefined && current.accessToken !== options.rejected;
        if (this.isFresh(current) && (options.rejected === undefined || replaced)) return { result: current };
        try {
          // While the current token still works, a slow or absent IdP must not hold the request up:
          // one short attempt, then the current token (and a cooldown). Only an unusable token waits
          // for every retry.
          const usable = this.isUnexpired(current) && options.rejected === undefined;
          const next = await this.refreshWithRetry(current, options.signal, usable);
          return { next, result: next };
        } catch (caught) {
          if (!isOidcError(caught)) throw caught;
          const error = caught;
          if (isOidcError(error, ErrorCode.SESSION_ENDED)) {
            ended = error;
            return { next: null, result: current };
          }
          if (
            isOidcError(error, ErrorCode.IDP_UNAVAILABLE) &&
            this.isUnexpired(current) &&
            options.rejected === undefined
          ) {
            this.retryAfter = this.clock.now() + this.retry.cooldownMs;
            this.logger.log("warn", "refresh failed, using the still-valid token", { error: error.message });
            return { result: current };
          }
          if (isOidcError(error, ErrorCode.IDP_UNAVAILABLE)) {
            throw new OidcError(
              ErrorCode.IDP_UNAVAILABLE,
              `${error.message} Your login is kept; the next request tries again.`,
              { cause: error, hint: error.hint },
            );
          }
          throw error;
        }
      },
      storage,
    );
    if (ended) {
      this.memory = undefined;
      this.logger.log("warn", "session ended by the identity provider", { code: ended.code });
      throw ended;
    }
    return this.remember(tokens);
  }

  /** The wait between refresh attempts, cut short (ABORTED) by the caller's deadline. */
  private async pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (!signal) return this.sleep(ms);
    const aborted = () =>
      new OidcError(ErrorCode.ABORTED, "Stopped retrying the refresh: the caller gave up.", {
        cause: signal.reason,
      });
    if (signal.aborted) throw aborted();
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      onAbort = () => reject(aborted());
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([this.sleep(ms), stop]);
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }

  private async refresher(
    current: TokenSet,
    ctx: { signal: AbortSignal | undefined; timeoutMs: number | undefined },
  ): Promise<() => Promise<TokenSet>> {
    // The OAuth library is loaded when it is first needed: a start with a fresh token never is.
    const { refreshTokens } = await import("./oauth/refresh.js");
    return () =>
      refreshTokens(this.options.settings, current, { fetch: this.options.fetch, clock: this.clock, ...ctx });
  }

  private async obtained(
    obtain: NonNullable<SessionOptions["obtain"]>,
    ctx: ObtainContext,
  ): Promise<TokenSet> {
    const tokens = await obtain(ctx);
    const { binding } = this.options;
    return binding === undefined ? tokens : { ...tokens, binding };
  }

  private remember(tokens: TokenSet): TokenSet {
    registerSecret(tokens.accessToken);
    registerSecret(tokens.refreshToken);
    this.memory = tokens;
    return tokens;
  }

  private async refreshWithRetry(
    current: TokenSet | undefined,
    signal: AbortSignal | undefined,
    quick: boolean,
  ): Promise<TokenSet> {
    const attempts = quick ? 1 : this.retry.attempts;
    const timeoutMs = quick
      ? Math.min(this.retry.quickTimeoutMs, this.options.idpTimeoutMs ?? Number.POSITIVE_INFINITY)
      : this.options.idpTimeoutMs;
    const { obtain } = this.options;
    const grant = obtain
      ? () => this.obtained(obtain, { signal, clock: this.clock, ...(timeoutMs && { timeoutMs }) })
      : await this.refresher(current as TokenSet, { signal, timeoutMs });
    for (let attempt = 1; ; attempt++) {
      try {
        this.refreshCalls++;
        const next = await grant();
        this.logger.log("info", obtain ? "machine token obtained" : "access token refreshed", {
          attempt,
          expiresAt: new Date(next.expiresAt).toISOString(),
        });
        this.retryAfter = 0;
        return next;
      } catch (error) {
        const transient = isOidcError(error, ErrorCode.IDP_UNAVAILABLE);
        this.logger.log(transient ? "warn" : "error", "refresh failed", {
          attempt,
          code: isOidcError(error) ? error.code : "unknown",
        });
        if (!transient || attempt >= attempts || signal?.aborted) throw error;
        await this.pause(
          Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1)),
          signal,
        );
      }
    }
  }
}
