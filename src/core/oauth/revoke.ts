import * as oauth from "oauth4webapi";
import type { TokenSet } from "../ports.js";
import { registerSecret } from "../redact.js";
import {
  clientAuth,
  clientFor,
  type OidcSettings,
  type RequestContext,
  requestOptions,
  toIdpError,
} from "./client.js";
import { compatOf, tokenEndpointAuth } from "./compat.js";
import { discover } from "./discovery.js";

export interface RevokeResult {
  revoked: boolean;
  /** Why nothing was revoked, or what failed (never a token). */
  note?: string;
}

/**
 * Revoke the login at the issuer: RFC 7009 where it has a revocation endpoint, or, with
 * `compat.revocation: "delete-token-grant"`, the `delete_token` grant at the token endpoint
 * (glewlwyd, whose revocation endpoint accepts only confidential clients).
 */
export async function revokeTokens(
  settings: OidcSettings,
  tokens: TokenSet,
  ctx: RequestContext = {},
): Promise<RevokeResult> {
  let as: oauth.AuthorizationServer;
  try {
    as = await discover(settings, ctx);
  } catch (error) {
    return { revoked: false, note: (error as Error).message };
  }
  if (compatOf(settings).revocation === "delete-token-grant")
    return deleteTokenGrant(as, settings, tokens, ctx);
  const endpoint = as.revocation_endpoint;
  if (!endpoint) return { revoked: false, note: "the issuer has no revocation endpoint" };
  const client = clientFor(settings);
  // Revoking the refresh token ends the grant (RFC 7009 §2.1); JWT access tokens often cannot be
  // revoked at all and expire on their own, so the access token is revoked only when it is all we have.
  const token = tokens.refreshToken ?? tokens.accessToken;
  registerSecret(token);
  try {
    const response = await oauth.revocationRequest(
      as,
      client,
      clientAuth,
      token,
      requestOptions(endpoint, ctx),
    );
    await oauth.processRevocationResponse(response);
    return { revoked: true };
  } catch (error) {
    return {
      revoked: false,
      note: toIdpError(error, `Revoking the tokens at ${settings.issuer}`, ctx.signal).message,
    };
  }
}

/** glewlwyd's own revocation: `grant_type=delete_token&refresh_token=...`, answered by an empty 200. */
async function deleteTokenGrant(
  as: oauth.AuthorizationServer,
  settings: OidcSettings,
  tokens: TokenSet,
  ctx: RequestContext,
): Promise<RevokeResult> {
  const endpoint = as.token_endpoint;
  if (!endpoint) return { revoked: false, note: "the issuer has no token endpoint" };
  if (!tokens.refreshToken) return { revoked: false, note: "there is no refresh token to delete" };
  try {
    const response = await oauth.genericTokenEndpointRequest(
      as,
      clientFor(settings),
      // A token endpoint request: it authenticates as device polls and refreshes do.
      tokenEndpointAuth(settings),
      "delete_token",
      { refresh_token: tokens.refreshToken },
      requestOptions(endpoint, ctx),
    );
    await response.body?.cancel();
    if (response.status === 200) return { revoked: true };
    return {
      revoked: false,
      note: `the identity provider answered HTTP ${response.status} to the delete_token grant`,
    };
  } catch (error) {
    return { revoked: false, note: toIdpError(error, "Revoking the tokens", ctx.signal).message };
  }
}
