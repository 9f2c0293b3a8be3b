/** The stored login against the preset, and the gateway's answer to it. */
import { type Credential, credentialHeaders } from "../../core/authorized-fetch.js";
import { DOCTOR } from "../../core/defaults.js";
import { ErrorCode, isOidcError } from "../../core/errors.js";
import { urlProblem } from "../../core/loopback.js";
import { fetchModels, joinUrl } from "../../core/models/fetch-models.js";
import { decodeJwtClaims } from "../../core/oauth/tokens.js";
import type { FetchLike, TokenSet } from "../../core/ports.js";
import type { Tenant } from "../tenant.js";
import { type Check, fail, pass, printable, warn } from "./report.js";

const OIDC_SCOPES = new Set(["openid", "profile", "email", "address", "phone", "offline_access"]);

const asList = (value: unknown): string[] =>
  Array.isArray(value) ? value.map(String) : typeof value === "string" ? [value] : [];

/** Whether the stored login may be sent to this preset's gateway (it is bound to the one it was made for). */
export function boundHere(tenant: Tenant, stored: TokenSet): boolean {
  return stored.binding === undefined || stored.binding === tenant.binding;
}

/** The stored token's issuer, audience and scopes against what the preset asks for. */
export function tokenCheck(tenant: Tenant, stored: TokenSet | undefined, now = Date.now()): Check {
  const { oidc } = tenant.preset;
  if (!tenant.oidc)
    return warn("token", "Not checked: the preset has no issuer or client id yet.", "See the preset check.");
  if (!stored)
    return warn(
      "token",
      "Not logged in: no stored login for this preset.",
      `Run \`opencode-oidc login${tenant.preset.id === "haiilo" ? "" : ` --preset ${tenant.preset.id}`}\` (or connect in OpenCode).`,
    );
  const details = [
    `expires: ${new Date(stored.expiresAt).toISOString()}${stored.expiresAt <= now ? " (expired)" : ""}`,
    `refresh token: ${stored.refreshToken ? "yes" : "no"}`,
  ];
  if (!boundHere(tenant, stored))
    return fail(
      "token",
      "The stored login was made for another gateway or other endpoints than this preset's.",
      "Log in again with this configuration; its tokens are not sent elsewhere.",
      details,
    );
  const claims = decodeJwtClaims(stored.accessToken);
  const granted = (
    stored.scope ?? (typeof claims?.scope === "string" ? claims.scope : asList(claims?.scp).join(" "))
  )
    .split(" ")
    .filter(Boolean);
  if (granted.length > 0) details.push(`scopes granted: ${printable(granted.join(" "), 300)}`);
  if (!claims)
    return warn(
      "token",
      "The access token is opaque: its issuer and audience cannot be checked here.",
      "The gateway must introspect such tokens; for Envoy's jwt_authn configure the IdP to issue JWT access tokens.",
      details,
    );
  const aud = asList(claims.aud);
  details.unshift(
    `iss: ${printable(claims.iss ?? "(none)", 300)}`,
    `aud: ${printable(aud.join(", ") || "(none)", 300)}`,
  );
  if (claims.iss !== oidc.issuer)
    return fail(
      "token",
      `The access token's issuer ${printable(claims.iss)} is not the preset's ${oidc.issuer}.`,
      "Log in again; if it persists, set oidc.issuer to the issuer the IdP puts into its tokens.",
      details,
    );
  if (oidc.audience && !aud.includes(oidc.audience))
    return fail(
      "token",
      `The access token's audience ${printable(aud.join(", ") || "(none)")} does not contain the preset's ${oidc.audience}.`,
      oidc.audienceParam === "none"
        ? "The IdP decides the audience: configure its authorization server or API for this audience, or request it with oidc.audienceParam (audience or resource). Then log in again."
        : `The IdP did not honour ${oidc.audienceParam}=${oidc.audience}: check the API/resource configuration at the IdP, then log in again.`,
      details,
    );
  // OpenID Connect's own scopes belong to the login, not to the API: many IdPs leave them out of the access token.
  const missing = oidc.scopes.filter(
    (s) => granted.length > 0 && !OIDC_SCOPES.has(s) && !granted.includes(s),
  );
  if (missing.length > 0)
    return warn(
      "token",
      `The IdP did not grant ${missing.join(" ")}.`,
      "Allow these scopes for the client at the IdP, or remove them from oidc.scopes; then log in again.",
      details,
    );
  if (stored.expiresAt <= now && !stored.refreshToken)
    return warn("token", "The login has expired and cannot be refreshed.", "Log in again.", details);
  if (!stored.refreshToken)
    return warn(
      "token",
      "The login has no refresh token: it ends when the access token expires.",
      "Add offline_access to oidc.scopes and allow the refresh token grant at the IdP.",
      details,
    );
  return pass("token", "The stored login matches the preset's issuer, audience and scopes.", details);
}

/** Does the gateway list models for the credential a request would carry now (no refresh is made)? */
export async function gatewayCheck(
  tenant: Tenant,
  credential: { value?: Credential; label: string },
  base: FetchLike,
  signal: AbortSignal,
): Promise<Check> {
  const { baseURL } = tenant.preset.provider;
  if (!baseURL)
    return fail(
      "gateway",
      "The preset has no provider.baseURL.",
      "Set provider.baseURL to the gateway's URL.",
    );
  const problem = urlProblem(baseURL);
  if (problem)
    return fail(
      "gateway",
      `provider.baseURL ${printable(baseURL, 300)} ${problem}.`,
      "Fix provider.baseURL.",
    );
  const url = joinUrl(baseURL, tenant.preset.discovery.path);
  let challenge: string | undefined;
  const noting: FetchLike = async (input, init) => {
    const response = await base(input, init);
    challenge = response.headers.get("www-authenticate") ?? undefined;
    return response;
  };
  try {
    const models = await fetchModels({
      baseURL,
      path: tenant.preset.discovery.path,
      metadataPath: null,
      headers: credential.value ? credentialHeaders(credential.value) : {},
      fetch: noting,
      signal: AbortSignal.any([signal, AbortSignal.timeout(DOCTOR.requestTimeoutMs)]),
    });
    return pass(
      "gateway",
      `${url} lists ${models.length} model${models.length === 1 ? "" : "s"} (${credential.label}).`,
      [`models: ${printable(models.map((m) => m.id).join(", "), 300) || "(none)"}`],
    );
  } catch (error) {
    const status = isOidcError(error)
      ? (error.details as { status?: number } | undefined)?.status
      : undefined;
    const said = challenge ? [`WWW-Authenticate: ${printable(challenge, 300)}`] : [];
    if (status === 401 || status === 403) {
      return credential.value
        ? fail(
            "gateway",
            `The gateway refused ${credential.label} (HTTP ${status}).`,
            "See the token check: the gateway expects the audience and issuer that `opencode-oidc envoy` renders for this preset. Log in again if the login is old.",
            said,
          )
        : warn(
            "gateway",
            `The gateway answers and wants credentials (HTTP ${status}).`,
            "Log in (`opencode-oidc login`) or store an API key, then run doctor again.",
            said,
          );
    }
    const message = isOidcError(error) ? error.message : String(error);
    const unreachable = isOidcError(error, ErrorCode.GATEWAY_UNAVAILABLE);
    return fail(
      "gateway",
      printable(message, 400),
      unreachable
        ? "Check provider.baseURL and that this machine reaches the gateway (proxy, VPN)."
        : `Check provider.baseURL and discovery.path: ${url} should answer an OpenAI-style model list.`,
      said,
    );
  }
}
