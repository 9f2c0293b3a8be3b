import type * as oauth from "oauth4webapi";
import { DEFAULT_TOKEN_LIFETIME_S as DEFAULT_LIFETIME_S } from "../defaults.js";
import type { TokenSet } from "../ports.js";
import { registerSecret } from "../redact.js";

/** Claims of a JWT without verifying it (for display and expiry only; the gateway verifies). */
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

/** A token endpoint answer as a TokenSet. A missing refresh token keeps the previous one (no rotation). */
export function toTokenSet(
  response: oauth.TokenEndpointResponse,
  now: number,
  previous?: TokenSet,
): TokenSet {
  registerSecret(response.access_token);
  registerSecret(response.refresh_token);
  registerSecret(response.id_token);
  const exp = decodeJwtClaims(response.access_token)?.exp;
  const lifetime =
    typeof response.expires_in === "number"
      ? response.expires_in * 1000
      : typeof exp === "number"
        ? exp * 1000 - now
        : DEFAULT_LIFETIME_S * 1000;
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
