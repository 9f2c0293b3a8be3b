import type { Credential } from "../core/authorized-fetch.js";
import { ErrorCode, OidcError } from "../core/errors.js";
import { checkApiKey } from "./api-key.js";
import type { Tenant } from "./tenant.js";

/** Stores an API key bound to the tenant's gateway: it is sent nowhere else. */
export function saveApiKey(tenant: Tenant, key: string): Promise<void> {
  return tenant.store.setApiKey(tenant.preset.id, key, tenant.preset.provider.baseURL);
}

/**
 * The API key stored in the token store, else the first one a host source knows (e.g. OpenCode's).
 * A stored key goes only to the gateway it was stored for (SESSION_ELSEWHERE otherwise); a key
 * stored before bindings existed is bound to this gateway at its first use.
 */
export async function storedApiKey(tenant: Tenant): Promise<Credential | undefined> {
  const entry = await tenant.store.getApiKeyEntry(tenant.preset.id);
  const gateway = tenant.preset.provider.baseURL;
  if (entry?.binding !== undefined && entry.binding !== gateway) {
    throw new OidcError(
      ErrorCode.SESSION_ELSEWHERE,
      `The API key stored for ${tenant.preset.name} was saved for the gateway ${entry.binding}, but this configuration would send it to ${gateway}.`,
      { hint: "If that is intended, store the key again with this configuration." },
    );
  }
  if (entry && entry.binding === undefined) await tenant.store.bindApiKey(tenant.preset.id, gateway);
  let key = entry?.key;
  for (const source of tenant.options.apiKeySources ?? []) {
    if (key) break;
    key = await source(tenant).catch(() => undefined);
  }
  // A header value loses surrounding white space anyway; a key that is still not usable is
  // API_KEY_INVALID here, before any request (not a misleading "gateway cannot be reached").
  key = key?.trim();
  if (!key) return undefined;
  checkApiKey(tenant.preset, key);
  return { kind: "api-key", header: tenant.preset.auth.apiKey.header, key };
}

/** The credential to use: the login if there is one (refreshed when due), else a stored API key. */
export async function chooseCredential(
  tenant: Tenant,
  signal?: AbortSignal,
): Promise<Credential | undefined> {
  if (await tenant.hasSession(signal))
    return { kind: "bearer", token: await tenant.session().getAccessToken({ signal }) };
  return storedApiKey(tenant);
}
