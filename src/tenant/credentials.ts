import type { Credential } from "../core/authorized-fetch.js";
import { registerSecret } from "../core/redact.js";
import type { Tenant } from "./tenant.js";

/** The API key stored in the token store, else the first one a host source knows (e.g. OpenCode's). */
export async function storedApiKey(tenant: Tenant): Promise<Credential | undefined> {
  let key = await tenant.store.getApiKey(tenant.preset.id);
  for (const source of tenant.options.apiKeySources ?? []) {
    if (key) break;
    key = await source(tenant).catch(() => undefined);
  }
  if (!key) return undefined;
  registerSecret(key);
  return { kind: "api-key", header: tenant.preset.auth.apiKey.header, key };
}

/** The credential to use: the login if there is one (refreshed when due), else a stored API key. */
export async function chooseCredential(
  tenant: Tenant,
  signal?: AbortSignal,
): Promise<Credential | undefined> {
  if (await tenant.hasSession())
    return { kind: "bearer", token: await tenant.session().getAccessToken({ signal }) };
  return storedApiKey(tenant);
}
