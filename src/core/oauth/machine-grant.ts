import * as oauth from "oauth4webapi";
import { ErrorCode, isOidcError, OidcError } from "../errors.js";
import type { Clock, TokenSet } from "../ports.js";
import { registerSecret } from "../redact.js";
import { idpText, type OidcSettings, type RequestContext, toIdpError } from "./client.js";
import { clientCredentialsGrant } from "./client-credentials.js";
import { MACHINE_KIND_LABELS, type MachineIdentity } from "./machine-identity.js";
import { tokenExchangeGrant } from "./token-exchange.js";

/**
 * One machine grant: client credentials (secret, private_key_jwt, client assertion) or RFC 8693
 * token exchange. IdP rejections become MACHINE_IDENTITY_REJECTED naming the variables to check;
 * network trouble stays IDP_UNAVAILABLE (transient, retried by the Session).
 */
export async function machineGrant(
  settings: OidcSettings,
  identity: MachineIdentity,
  ctx: RequestContext & { clock?: Clock } = {},
): Promise<TokenSet> {
  const material = await identity.load();
  const auth = material.auth;
  if (auth.method === "client_secret_basic" || auth.method === "client_secret_post")
    registerSecret(auth.secret);
  if (auth.method === "client_assertion") registerSecret(auth.assertion);
  registerSecret(material.subjectToken?.token);
  try {
    const base = { clientId: identity.clientId, auth, scopes: identity.scopes };
    return material.subjectToken
      ? await tokenExchangeGrant(
          settings,
          {
            ...base,
            subjectToken: material.subjectToken.token,
            subjectTokenType: material.subjectToken.type,
          },
          ctx,
        )
      : await clientCredentialsGrant(settings, base, ctx);
  } catch (error) {
    throw rejection(error, identity, ctx.signal);
  }
}

function rejection(error: unknown, identity: MachineIdentity, signal?: AbortSignal): OidcError {
  const what = `The ${MACHINE_KIND_LABELS[identity.kind]} grant for client "${identity.clientId}"`;
  const mapped = toIdpError(error, what, signal);
  if (isOidcError(mapped, ErrorCode.IDP_UNAVAILABLE) || isOidcError(mapped, ErrorCode.ABORTED)) return mapped;
  if (isOidcError(error) && !isOidcError(error, ErrorCode.IDP_REJECTED)) return error;
  const variables = identity.variables.join(", ");
  const oauthError = (mapped.details as { error?: string } | undefined)?.error;
  const description =
    error instanceof oauth.ResponseBodyError && error.error_description
      ? ` (${idpText(error.error_description)})`
      : "";
  const reason = oauthError ? `${idpText(oauthError)}${description}` : mapped.message;
  return new OidcError(
    ErrorCode.MACHINE_IDENTITY_REJECTED,
    `The identity provider rejected the machine identity from ${variables}: ${reason}.`,
    {
      cause: mapped,
      hint: hintFor(oauthError, identity),
      details: { error: oauthError, kind: identity.kind, variables: identity.variables },
    },
  );
}

function hintFor(oauthError: string | undefined, identity: MachineIdentity): string {
  const [main] = identity.variables;
  switch (oauthError) {
    case "invalid_client":
      return `Check ${identity.variables.join(" and ")}: the client id and its ${identity.kind === "client_secret" ? "secret" : identity.kind === "private_key_jwt" ? "registered public key" : "credential"} must match what the identity provider has registered.`;
    case "unauthorized_client":
      return `The client "${identity.clientId}" is not allowed this grant: enable it for the client at the identity provider.`;
    case "invalid_grant":
      return `The identity provider does not accept the token in ${main}: check that it is current and that the provider trusts its issuer.`;
    case "invalid_scope":
    case "invalid_target":
      return "Check the scopes (OPENCODE_OIDC_SCOPES, or the preset's API scopes) and the audience the client may request.";
    default:
      return `Check ${identity.variables.join(" and ")} and the client's settings at the identity provider.`;
  }
}
