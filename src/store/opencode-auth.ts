import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { ensurePrivateDir, writePrivateFile } from "./private-files.js";

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
  await ensurePrivateDir(dirname(file));
  await writePrivateFile(file, `${JSON.stringify(data, null, 2)}\n`);
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
  await writePrivateFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return true;
}

/** The API key OpenCode stored for a provider (from OPENCODE_AUTH_CONTENT or auth.json), if any. */
export async function readOpencodeApiKey(
  file: string,
  providerId: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
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
  const entry = data?.[providerId] as { type?: string; key?: string } | undefined;
  return entry?.type === "api" && typeof entry.key === "string" ? entry.key : undefined;
}
