/**
 * Limits on what an IdP, a gateway or a preset may ask of the engine (issue 10). To be folded into
 * the one defaults module.
 */

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
