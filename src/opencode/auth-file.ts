/**
 * OpenCode's own credential file, auth.json: the one OpenCode file this package touches outside the
 * plugin. A login records only a marker there (so OpenCode runs the plugin's loader), never a token.
 * This module is a leaf: the CLI may import it (to tell OpenCode about a CLI login), nothing else of
 * src/opencode.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { ensurePrivateDir, writePrivateFile } from "../store/private-files.js";
import type { ApiKeySource } from "../tenant/tenant.js";

/** What auth.json holds for a provider whose tokens live in the token store. */
export const STORE_MARKER = "stored-by-opencode-oidc";

/** `$XDG_DATA_HOME/opencode/auth.json`, as OpenCode finds it. */
export function opencodeAuthFile(env: NodeJS.ProcessEnv = process.env): string {
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share");
  return join(dataHome, "opencode", "auth.json");
}

type AuthRecord =
  | { type: "oauth"; refresh: string; access: string; expires: number }
  | { type: "api"; key: string };

async function readAuth(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    const data = JSON.parse(await readFile(file, "utf8"));
    return typeof data === "object" && data !== null && !Array.isArray(data) ? data : undefined;
  } catch (error) {
    return (error as { code?: string }).code === "ENOENT" ? {} : undefined;
  }
}

/**
 * Records in OpenCode's auth.json that a provider is connected, so OpenCode runs the plugin's
 * loader for a login made with the CLI. A file OpenCode cannot parse is left alone.
 */
export async function registerWithOpencode(
  file: string,
  providerId: string,
  record: AuthRecord,
): Promise<boolean> {
  const data = await readAuth(file);
  if (!data) return false;
  data[providerId] = record;
  // OpenCode's own file (it follows links itself): only a marker is written, so links are followed too.
  await ensurePrivateDir(dirname(file), { followLinks: true });
  await writePrivateFile(file, `${JSON.stringify(data, null, 2)}\n`, { followLinks: true });
  return true;
}

/** Removes the provider's entry if it is ours (the marker), never a credential the user stored otherwise. */
export async function unregisterFromOpencode(
  file: string,
  providerId: string,
  marker: string,
): Promise<boolean> {
  const data = await readAuth(file);
  const entry = data?.[providerId] as { access?: string; key?: string } | undefined;
  if (!data || !entry || (entry.access !== marker && entry.key !== marker)) return false;
  delete data[providerId];
  await writePrivateFile(file, `${JSON.stringify(data, null, 2)}\n`, { followLinks: true });
  return true;
}

/** Records a CLI login (device or API key) so OpenCode runs the plugin's loader for it. */
export function registerLogin(
  env: NodeJS.ProcessEnv,
  providerId: string,
  kind: "oauth" | "api",
  expires = 0,
): Promise<boolean> {
  const record: AuthRecord =
    kind === "api"
      ? { type: "api", key: STORE_MARKER }
      : { type: "oauth", refresh: STORE_MARKER, access: STORE_MARKER, expires };
  return registerWithOpencode(opencodeAuthFile(env), providerId, record).catch(() => false);
}

/** Removes a marker this package wrote for the provider. */
export function unregisterLogin(env: NodeJS.ProcessEnv, providerId: string): Promise<boolean> {
  return unregisterFromOpencode(opencodeAuthFile(env), providerId, STORE_MARKER).catch(() => false);
}

/** The API key OpenCode stored for a tenant's provider, as an `ApiKeySource` for `Tenant`. */
export const opencodeApiKeySource: ApiKeySource = (tenant) =>
  readOpencodeApiKey(opencodeAuthFile(tenant.options.env), tenant.preset.provider.id, tenant.options.env);

/** OpenCode's record for a provider, as OpenCode reads it (OPENCODE_AUTH_CONTENT replaces the file). */
async function readEntry(
  file: string,
  providerId: string,
  env: NodeJS.ProcessEnv,
): Promise<{ type?: string; key?: string } | undefined> {
  let data: Record<string, unknown> | undefined;
  if (env.OPENCODE_AUTH_CONTENT) {
    try {
      data = JSON.parse(env.OPENCODE_AUTH_CONTENT);
    } catch {
      data = undefined;
    }
  } else {
    data = await readAuth(file);
  }
  const entry = data?.[providerId];
  return typeof entry === "object" && entry !== null ? (entry as { type?: string; key?: string }) : undefined;
}

/** The API key OpenCode stored for a provider (from OPENCODE_AUTH_CONTENT or auth.json), if any. */
export async function readOpencodeApiKey(
  file: string,
  providerId: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const entry = await readEntry(file, providerId, env);
  return entry?.type === "api" && typeof entry.key === "string" && entry.key !== STORE_MARKER
    ? entry.key
    : undefined;
}

/**
 * How the user connected a provider in OpenCode: `type` "oauth" (a login method) or "api" (an API
 * key, with the key unless it is our marker), or nothing when auth.json has no record. Never throws.
 */
export async function readOpencodeConnection(
  providerId: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ type?: "oauth" | "api"; key?: string }> {
  const entry = await readEntry(opencodeAuthFile(env), providerId, env).catch(() => undefined);
  if (entry?.type === "oauth") return { type: "oauth" };
  if (entry?.type !== "api") return {};
  return typeof entry.key === "string" && entry.key !== STORE_MARKER
    ? { type: "api", key: entry.key }
    : { type: "api" };
}
