import { authorizedFetch, type Credential } from "../core/authorized-fetch.js";
import { describeError, ErrorCode, isOidcError, OidcError } from "../core/errors.js";
import type { FetchLike } from "../core/ports.js";
import { checkApiKey } from "../tenant/api-key.js";
import { storedApiKey } from "../tenant/credentials.js";
import type { Tenant } from "../tenant/tenant.js";
import { readOpencodeConnection } from "./auth-file.js";
import { baseUrlSetBy } from "./config-origin.js";
import { connectHint, forOpencode } from "./hints.js";
import { isPlaceholderRequest, type PlaceholderContext, placeholderError } from "./placeholder.js";

export type AuthKind = "oauth" | "api" | "auto";

export interface ProviderFetchOptions {
  /** The folder OpenCode runs in (to name the project file that points the provider elsewhere). */
  directory?: string;
  /**
   * The provider's models are only the placeholder entry: a request for it is answered here (how
   * to connect, or what the gateway's listing said), never sent.
   */
  placeholder?: PlaceholderContext;
}

/**
 * The fetch OpenCode's provider SDK uses for every request of one preset: the session's current
 * token (from memory while fresh) or the API key; a 401 refreshes once and retries once.
 */
export function providerFetch(
  tenant: Tenant,
  kind: AuthKind,
  apiKey?: string,
  options: ProviderFetchOptions = {},
): FetchLike {
  const header = tenant.preset.auth.apiKey.header;
  let known: Credential | undefined;
  const keyCredential = async (): Promise<Credential | undefined> => {
    if (known) return known;
    const found: Credential | undefined = apiKey?.trim()
      ? { kind: "api-key", header, key: apiKey.trim() }
      : await storedApiKey(tenant);
    if (found?.kind !== "api-key") return undefined;
    // The key's format is checked here: OpenCode's own prompt took it without asking the plugin.
    checkApiKey(tenant.preset, found.key);
    known = found;
    return found;
  };
  const credential = async (): Promise<Credential> => {
    if (kind === "api") {
      const key = await keyCredential();
      if (key) return key;
    }
    if (kind === "oauth") return { kind: "bearer", token: await tenant.session().getAccessToken() };
    if (kind === "auto" && (tenant.oidc || tenant.machineIdentity())) {
      // A machine identity, else the login when there is one (from memory while fresh), else the API key.
      try {
        return { kind: "bearer", token: await tenant.session().getAccessToken() };
      } catch (error) {
        if (!isOidcError(error, ErrorCode.NOT_LOGGED_IN)) throw error;
      }
    }
    const key = await keyCredential();
    if (key) return key;
    throw new OidcError(ErrorCode.NOT_LOGGED_IN, `Not logged in to ${tenant.preset.name}.`, {
      hint: connectHint(tenant),
    });
  };
  const send = authorizedFetch({
    credential,
    authHeaders: [header],
    fetch: tenant.fetch,
    // Credentials go only to the gateway of the preset as the trusted layers define it; an
    // opencode.json that points the provider elsewhere gets an error, not the token or key.
    boundTo: tenant.preset.provider.baseURL,
    describeRefusal: (url) => refusal(tenant, url, options.directory),
    async renew(rejected) {
      if (rejected.kind !== "bearer") return undefined;
      try {
        return { kind: "bearer", token: await tenant.session().getAccessToken({ rejected: rejected.token }) };
      } catch (error) {
        tenant.logger.log("warn", "renewal after 401 failed", { error: describeError(error) });
        return undefined;
      }
    },
  });
  // OpenCode shows a thrown fetch error only as "Unexpected server error"; an HTTP answer with an
  // OpenAI-style error body reaches the user with its message (how to log in again, etc.).
  return async (input, init) => {
    try {
      if (options.placeholder && isPlaceholderRequest(init))
        return errorResponse(await placeholderError(tenant, options.placeholder));
      return await send(input, init);
    } catch (caught) {
      const error = forOpencode(caught, tenant);
      if (!isOidcError(error)) throw error;
      return errorResponse(error);
    }
  };

  function errorResponse(error: OidcError): Response {
    tenant.logger.log("warn", "request not sent", { code: error.code, error: error.message });
    const status =
      error.code === ErrorCode.IDP_UNAVAILABLE
        ? 503
        : error.code === ErrorCode.GATEWAY_UNAVAILABLE
          ? 404
          : 401;
    const type = status === 401 ? "authentication_error" : "invalid_request_error";
    const body = { error: { message: error.describe(), type, code: error.code } };
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  }
}

/**
 * The fetch for a tenant's provider, by how the user connected it in OpenCode (auth.json): the API
 * key typed into OpenCode, the login, or (not connected in OpenCode) whatever the token store has.
 */
export async function signingFetch(
  tenant: Tenant,
  placeholder: PlaceholderContext | undefined,
  directory?: string,
): Promise<FetchLike> {
  const connection = await readOpencodeConnection(tenant.preset.provider.id, tenant.options.env);
  return providerFetch(tenant, connection.type ?? "auto", connection.key, { placeholder, directory });
}

async function refusal(
  tenant: Tenant,
  url: string,
  directory: string | undefined,
): Promise<{ message: string; hint: string }> {
  const { provider } = tenant.preset;
  const file = await baseUrlSetBy(provider.id, directory, tenant.options.env);
  let where: string;
  try {
    where = new URL(url).origin;
  } catch {
    where = "an invalid URL";
  }
  return {
    message: `Not sending your ${tenant.preset.name} credentials to ${where}: they belong to the gateway ${provider.baseURL}.${file ? ` ${file} sets provider.${provider.id}.options.baseURL to another URL.` : ""}`,
    hint: `To use another gateway on purpose, set it where only you can: "provider": {"baseURL": "<url>"} for preset "${tenant.preset.id}" in ~/.config/opencode-oidc/config.json, an environment variable the preset maps to /provider/baseURL, or the plugin options in ~/.config/opencode/opencode.json; then log in again. Otherwise remove that baseURL from the project's opencode.json.`,
  };
}
