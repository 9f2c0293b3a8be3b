import * as oauth from "oauth4webapi";
import type { TokenSet } from "../ports.js";
import {
  clientAuth,
  clientFor,
  type OidcSettings,
  type RequestContext,
  requestOptions,
  toIdpError,
} from "./client.js";
import { discover } from "./discovery.js";

export interface RevokeResult {
  revoked: boolean;
  /** Why nothing was revoked, or what failed (never a token). */
  note?: string;
}

/** RFC 7009: revoke the login at the issuer, where it has a revocation endpoint. */
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
  const endpoint = as.revocation_endpoint;
  if (!endpoint) return { revoked: false, note: "the issuer has no revocation endpoint" };
  const client = clientFor(settings);
  // Revoking the refresh token ends the grant (RFC 7009 §2.1); JWT access tokens often cannot be
  // revoked at all and expire on their own, so the access token is revoked only when it is all we have.
  const token = tokens.refreshToken ?? tokens.accessToken;
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
