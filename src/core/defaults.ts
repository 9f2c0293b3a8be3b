/**
 * Every timeout, limit, retry policy and TTL of the package, in one place. Nothing else declares a
 * literal timeout: code imports from here, and the preset schema's defaults (`applyDefaults`) are
 * read from `PRESET_DEFAULTS`. docs/architecture.md ("Defaults") explains each figure.
 */

/** Calls to the identity provider (discovery, device, token, revocation): one request's limit. */
export const IDP_TIMEOUT_MS = 10_000;

/** The issuer's discovery document is kept in memory this long per process. */
export const DISCOVERY_CACHE_MS = 60 * 60 * 1000;

/** Lifetime assumed when a token answer has no `expires_in` (the token itself is never decoded for it). */
export const DEFAULT_TOKEN_LIFETIME_S = 3600;

/** Refresh-token grant retries (`Session`). */
export const REFRESH_RETRY = {
  /** Refresh attempts per refresh, the first included. */
  attempts: 3,
  baseDelayMs: 300,
  maxDelayMs: 2000,
  /** After a transient failure with a still-valid token, wait this long before trying again. */
  cooldownMs: 30_000,
  /** IdP timeout of the single attempt made while the current token still works. */
  quickTimeoutMs: 3000,
} as const;

/** The token store's cross-process lock. A live holder touches it every staleMs/3. */
export const STORE_LOCK = {
  /** A lock older than this is taken over (its holder died). */
  staleMs: 5_000,
  /** How long to wait for the lock before LOCK_TIMEOUT. */
  waitMs: 60_000,
  /** The lock is touched at least this often. */
  minUpdateMs: 1000,
} as const;

/** The token store's lock wait: between attempts it pauses from `minPauseMs`, growing 1.3× to `maxPauseMs`. */
export const STORE_LOCK_RETRY = { minPauseMs: 5, maxPauseMs: 100 } as const;

/** The OS keyring (`tokenStore: "auto" | "keyring"`). */
export const KEYRING = {
  /** `auto` uses the keyring only if it answers a lookup within this time, else the plain file. */
  probeMs: 1_000,
  /** Any other keyring call (read, store or delete the store's key) fails after this long. */
  callMs: 15_000,
} as const;

/** Model discovery. */
export const MODEL_DISCOVERY = {
  /** A background refresh of a stale cache may take this many times the preset's timeout. */
  backgroundTimeoutFactor: 4,
  /** The smallest wait left for the gateway at OpenCode's startup. */
  minStartupBudgetMs: 100,
  /** `opencode-oidc models` waits this long for the gateway. */
  cliTimeoutMs: 15_000,
  /** The demo's wait for the gateway. */
  demoTimeoutMs: 5000,
} as const;

/** Longest IdP-written text (a device answer's `message`) kept for display. */
export const MAX_IDP_MESSAGE_CHARS = 1000;

/** The largest model list (or metadata) answer read from a gateway. */
export const MODEL_LIST_MAX_BYTES = 4 * 1024 * 1024;

/** `opencode-oidc doctor`: every network check is short and the whole run is bounded. */
export const DOCTOR = {
  /** One request's limit (discovery, JWKS, the gateway's model list). */
  requestTimeoutMs: 3000,
  /** The whole run's limit; whatever is still waiting then is reported as timed out. */
  totalTimeoutMs: 12_000,
  /** Waiting for the token store's lock. */
  lockWaitMs: 2000,
  /** The largest JWKS answer read. */
  jwksMaxBytes: 1024 * 1024,
  /** A clock this close to the IdP's and the gateway's passes. */
  clockPassSeconds: 5,
  /** Beyond this the clock check fails (JWT libraries commonly tolerate a few minutes at most). */
  clockFailSeconds: 300,
} as const;

/** The browser login (authorization code + PKCE with a loopback redirect). */
export const BROWSER_LOGIN = {
  /** How long the loopback listener waits for the browser's answer. */
  timeoutMs: 5 * 60_000,
} as const;

/** Machine identities: a key, assertion or subject token file larger than this is refused. */
export const MAX_CREDENTIAL_FILE_BYTES = 256 * 1024;

/**
 * How many presets get a provider with their own login methods in OpenCode. OpenCode registers one
 * auth hook per exported plugin function, so src/index.ts exports one function per slot; presets
 * beyond the last slot are offered in the default preset's login menu instead.
 */
export const OPENCODE_PRESET_SLOTS = 8;

/** Fetching an issuer's metadata for `opencode-oidc envoy`. */
export const ENVOY_DISCOVERY_TIMEOUT_MS = 5000;

/* Limits on what an IdP, a gateway or a preset may ask of the engine (issue 10). */

/**
 * Longest access-token lifetime believed (30 days). A longer `expires_in` (1e15, say) is cut to
 * this; a token that really lives longer is simply refreshed early.
 */
export const MAX_TOKEN_LIFETIME_S = 30 * 24 * 3600;

/** Longest device-code lifetime believed (RFC 8628 suggests minutes; Okta uses 10). */
export const MAX_DEVICE_CODE_LIFETIME_S = 3600;

/** Longest wait between two device-flow polls, also after `slow_down`. */
export const MAX_DEVICE_POLL_INTERVAL_S = 60;

/** Longest API key accepted; the preset's `auth.apiKey.pattern` only ever runs on keys this short. */
export const MAX_API_KEY_CHARS = 1024;

/**
 * How hard `auth.apiKey.pattern` is checked for catastrophic backtracking when a preset is validated:
 * redos-detector's score limit and step budget (a pattern that needs more steps counts as unsafe;
 * real key patterns need far fewer, and the budget makes the verdict the same on every machine),
 * and a time limit as the last resort.
 */
export const PATTERN_CHECK = { maxScore: 200, maxSteps: 1_000, timeoutMs: 2_000 } as const;

/** Defaults of the preset schema's optional fields. */
export const PRESET_DEFAULTS = {
  providerNpm: "@ai-sdk/openai-compatible",
  scopes: ["openid", "profile", "email", "offline_access"],
  profile: "generic",
  audienceParam: "none",
  /** `oidc.compat`: strict, as the RFCs say (an IdP profile switches single fields on). */
  compat: {
    verificationUrl: false,
    tokenEndpointAuth: "none",
    refreshScope: false,
    revocation: "rfc7009",
    accessTokenIssuer: null,
  },
  refreshSkewSeconds: 300,
  deviceFlowLabel: "Okta Device Flow",
  browserLabel: "Browser Login",
  callbackPath: "/callback",
  clientSecretMethod: "client_secret_basic",
  apiKeyLabel: "Manual API Key",
  apiKeyHeader: "x-api-key",
  apiKeyPattern: "^sk-",
  discoveryPath: "/models",
  metadataPath: "/model/info",
  discoveryTimeoutMs: 1500,
  cacheTtlSeconds: 3600,
  logMaxBytes: 1_048_576,
} as const;
