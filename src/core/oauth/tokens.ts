import type * as oauth from "oauth4webapi";
import { DEFAULT_TOKEN_LIFETIME_S, MAX_TOKEN_LIFETIME_S } from "../defaults.js";
import type { TokenSet } from "../ports.js";
import { registerSecret } from "../redact.js";

/** Claims of a JWT without verifying it (for display only: expiry comes from `expires_in`; the gateway verifies). */
export function decodeJwtClaims(token: string | undefined): Record<string, unknown> | undefined {
  const payload = token?.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    return typeof claims === "object" && claims !== null ? claims : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A token endpoint answer as a TokenSet. A missing refresh token keeps the previous one (no rotation).
 * The access token is opaque to the client (RFC 6749 §1.4): its expiry comes from `expires_in` on
 * the client's own clock, never from decoding it, so reference tokens (Ping, Google, Auth0 without
 * an audience) work like JWTs. Without `expires_in` (RFC 6749 only recommends it; every IdP in
 * docs/idps.md sends it) the default lifetime applies; a token that ends sooner is renewed on the
 * gateway's first 401. No lifetime is believed beyond MAX_TOKEN_LIFETIME_S (an `expires_in` of 1e15
 * would otherwise give an expiry no date can show, and a token that is never refreshed).
 */
export function toTokenSet(
  response: oauth.TokenEndpointResponse,
  now: number,
  previous?: TokenSet,
): TokenSet {
  registerSecret(response.access_token);
  registerSecret(response.refresh_token);
  registerSecret(response.id_token);
  const seconds =
    typeof response.expires_in === "number" && Number.isFinite(response.expires_in) && response.expires_in > 0
      ? response.expires_in
      : DEFAULT_TOKEN_LIFETIME_S;
  const lifetime = Math.round(Math.min(seconds, MAX_TOKEN_LIFETIME_S) * 1000);
  const set: TokenSet = {
    accessToken: response.access_token,
    tokenType: response.token_type ?? "bearer",
    expiresAt: now + lifetime,
    obtainedAt: now,
  };
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  if (refreshToken) set.refreshToken = refreshToken;
  const idToken = response.id_token ?? previous?.idToken;
  if (idToken) set.idToken = idToken;
  const scope = response.scope ?? previous?.scope;
  if (scope) set.scope = scope;
  if (previous?.binding !== undefined) set.binding = previous.binding;
  return set;
}
