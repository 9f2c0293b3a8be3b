/**
 * The one place where the engine bends to identity providers that deviate from the RFCs. Every
 * deviation is switched on per preset (`oidc.compat`, usually through `oidc.profile`); with the
 * defaults below the engine is strict and oauth4webapi checks every answer as the RFCs say.
 * See docs/idps.md for which IdP needs which setting.
 */
import * as oauth from "oauth4webapi";
import { PRESET_DEFAULTS } from "../defaults.js";
import { ErrorCode, OidcError } from "../errors.js";
import type { OidcCompat, OidcSettings } from "./client.js";

export type { OidcCompat, TokenEndpointAuth } from "./client.js";

/** Strict: what the RFCs say (the schema's defaults of `oidc.compat`). */
export const STRICT_COMPAT: OidcCompat = PRESET_DEFAULTS.compat;

export function compatOf(settings: Pick<OidcSettings, "compat">): OidcCompat {
  return { ...STRICT_COMPAT, ...settings.compat };
}

/** The suffix Entra ID uses to ask for every permission of one API (`api://<app>/.default`). */
export const AUDIENCE_SCOPE_SUFFIX = "/.default";

/**
 * The scopes to request. With `audienceParam: "scope"` the audience travels as a scope
 * (`<audience>/.default`), unless one of the scopes already names it (`<audience>/access_as_user`).
 */
export function requestedScopes(settings: OidcSettings): string[] {
  const { audience, audienceParam, scopes } = settings;
  if (audienceParam !== "scope" || !audience) return scopes;
  if (scopes.some((s) => s.startsWith(`${audience}/`))) return scopes;
  return [...scopes, `${audience}${AUDIENCE_SCOPE_SUFFIX}`];
}

/** The audience as the issuer wants it requested: an `audience` or RFC 8707 `resource` parameter, or nothing. */
export function audienceParameters(settings: OidcSettings): Record<string, string> {
  const { audience, audienceParam } = settings;
  if (!audience || (audienceParam !== "audience" && audienceParam !== "resource")) return {};
  return { [audienceParam]: audience };
}

/** Extra parameters of a refresh-token grant. */
export function refreshParameters(settings: OidcSettings): Record<string, string> {
  const parameters = audienceParameters(settings);
  if (compatOf(settings).refreshScope) parameters.scope = requestedScopes(settings).join(" ");
  return parameters;
}

/**
 * Client authentication at the token endpoint. The secret goes only there (device polls and
 * refreshes), never to the device authorization or revocation endpoints.
 */
export function tokenEndpointAuth(settings: OidcSettings): oauth.ClientAuth {
  const method = compatOf(settings).tokenEndpointAuth;
  if (method === "none") return oauth.None();
  const secret = settings.clientSecret;
  if (!secret) {
    throw new OidcError(
      ErrorCode.PRESET_INCOMPLETE,
      `The identity provider wants a client secret at its token endpoint (oidc.compat.tokenEndpointAuth is ${method}), and the preset has none.`,
      {
        hint: "Set oidc.clientSecret, preferably through an environment variable named in the preset's env map.",
      },
    );
  }
  return method === "client_secret_post" ? oauth.ClientSecretPost(secret) : oauth.ClientSecretBasic(secret);
}

// Kept here for the device answer's `message`; the same cleaning applies to an IdP's error text.
export { plainText } from "../plain-text.js";

const NUMERIC = /^\d{1,9}(\.\d{1,6})?$/;

/**
 * Rewrites a successful device authorization answer to RFC 8628 when the preset says the IdP
 * deviates (`compat.verificationUrl`): `verification_url` → `verification_uri`, and numbers sent as
 * strings → numbers. Anything else, and every error answer, passes through untouched for
 * oauth4webapi to check.
 */
export async function normalizeDeviceAuthorizationResponse(
  response: Response,
  compat: OidcCompat,
): Promise<Response> {
  if (!compat.verificationUrl || response.status !== 200) return response;
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    return response;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return response;
  const fixed: Record<string, unknown> = { ...body };
  if (fixed.verification_uri === undefined && typeof fixed.verification_url === "string") {
    fixed.verification_uri = fixed.verification_url;
    delete fixed.verification_url;
  }
  for (const name of ["expires_in", "interval"]) {
    const value = fixed[name];
    if (typeof value === "string" && NUMERIC.test(value)) fixed[name] = Number(value);
  }
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.delete("content-encoding");
  return new Response(JSON.stringify(fixed), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/** A hint for a device answer that failed only because the IdP uses `verification_url` and the preset is strict. */
export function deviceAnswerHint(error: unknown): string | undefined {
  if (!(error instanceof oauth.OperationProcessingError)) return undefined;
  const body = (error.cause as { body?: Record<string, unknown> } | undefined)?.body;
  if (body && body.verification_uri === undefined && body.verification_url !== undefined) {
    return "The identity provider names the URL verification_url instead of verification_uri: set oidc.profile (google, entra) or oidc.compat.verificationUrl: true in the preset.";
  }
  return undefined;
}
