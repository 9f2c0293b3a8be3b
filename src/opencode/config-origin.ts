import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { recordedWellKnownOptions } from "./well-known.js";

const NAMES = ["opencode.json", "opencode.jsonc", ".opencode/opencode.json", ".opencode/opencode.jsonc"];

/** An OpenCode config file: plain JSON first; the JSONC parser is loaded only for comments or trailing commas. */
async function readJsonc(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      const { parse } = await import("jsonc-parser");
      value = parse(text, [], { allowTrailingComma: true });
    } catch {
      return undefined;
    }
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The user's own (trusted) OpenCode config files: the global folder and OPENCODE_CONFIG. */
export function globalOpencodeConfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const configHome = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  const dir = join(configHome, "opencode");
  const files = ["config.json", "opencode.json", "opencode.jsonc"].map((name) => join(dir, name));
  if (env.OPENCODE_CONFIG) files.push(resolve(env.OPENCODE_CONFIG));
  return files.filter((file) => existsSync(file));
}

/**
 * OpenCode's managed (system-wide) config folder, as OpenCode 1.18.33 finds it (`managedConfigDir`):
 * written by administrators, read last. `OPENCODE_TEST_MANAGED_CONFIG_DIR` is OpenCode's own override.
 */
export function managedOpencodeConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OPENCODE_TEST_MANAGED_CONFIG_DIR) return env.OPENCODE_TEST_MANAGED_CONFIG_DIR;
  if (process.platform === "darwin") return "/Library/Application Support/opencode";
  if (process.platform === "win32") return join(env.ProgramData || "C:\\ProgramData", "opencode");
  return "/etc/opencode";
}

/** Project OpenCode config files from `directory` up to the repository root or HOME (untrusted). */
export function projectOpencodeConfigFiles(
  directory: string,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const home = resolve(env.HOME || homedir());
  const found: string[] = [];
  let dir = resolve(directory);
  for (;;) {
    if (dir === home) break;
    for (const name of NAMES) if (existsSync(join(dir, name))) found.push(join(dir, name));
    const parent = dirname(dir);
    if (existsSync(join(dir, ".git")) || parent === dir) break;
    dir = parent;
  }
  return found;
}

function pluginEntries(config: Record<string, unknown> | undefined): unknown[] {
  const plugins = config?.plugin;
  return Array.isArray(plugins) ? plugins : [];
}

/**
 * Whether the plugin options OpenCode handed over are the ones in the user's own config (global
 * opencode.json, OPENCODE_CONFIG, OPENCODE_CONFIG_CONTENT), the managed config folder, or a
 * well-known document the user logged in with (recorded by `login --well-known`). Options written only in a project's
 * opencode.json are untrusted: they may add presets and model settings, never redirect a credential.
 */
export async function pluginOptionsTrusted(
  options: unknown,
  packageName: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  if (options === undefined || options === null) return true;
  const wanted = JSON.stringify(options);
  // Options a well-known login of the user's recorded (the document is config from a URL).
  if (recordedWellKnownOptions(env).includes(wanted)) return true;
  const managed = managedOpencodeConfigDir(env);
  const files = [
    ...globalOpencodeConfigFiles(env),
    ...["opencode.json", "opencode.jsonc"].map((name) => join(managed, name)).filter((f) => existsSync(f)),
  ];
  const configs = await Promise.all(files.map(readJsonc));
  if (env.OPENCODE_CONFIG_CONTENT) {
    try {
      configs.push(JSON.parse(env.OPENCODE_CONFIG_CONTENT));
    } catch {
      // not JSON: nothing trusted from there
    }
  }
  return configs.some((config) =>
    pluginEntries(config).some(
      (entry) =>
        Array.isArray(entry) &&
        typeof entry[0] === "string" &&
        entry[0].includes(packageName.replace(/^@[^/]+\//, "")) &&
        JSON.stringify(entry[1]) === wanted,
    ),
  );
}

/** The OpenCode config file that sets `provider.<id>.options.baseURL`, project files first. */
export async function baseUrlSetBy(
  providerId: string,
  directory: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const files = [
    ...(directory ? projectOpencodeConfigFiles(directory, env) : []),
    ...globalOpencodeConfigFiles(env),
  ];
  for (const file of files) {
    const providers = (await readJsonc(file))?.provider as
      | Record<string, { options?: { baseURL?: unknown } }>
      | undefined;
    if (typeof providers?.[providerId]?.options?.baseURL === "string") return file;
  }
  return undefined;
}
