import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { approveDevice } from "../../../src/sandbox/approve.js";
import type { Sandbox } from "../../../src/sandbox/sandbox.js";
import { makeHome, type OpencodeHome, startOpencode, stripAnsi, writeConfig } from "./opencode.js";

export const REPO = join(import.meta.dirname, "../../..");
export const PLUGIN_FILE = `file://${join(REPO, "dist/index.js")}`;
export const CLI = join(REPO, "dist/cli.js");

/** A hermetic OpenCode home whose opencode.json loads the built plugin, pointed at the sandbox. */
export async function pluginHome(
  box: Sandbox,
  options: { plugin?: unknown[] | null; env?: Record<string, string> } = {},
): Promise<OpencodeHome> {
  const home = await makeHome({ env: { ...box.env, OPENCODE_OIDC_NO_BROWSER: "1", ...options.env } });
  if (options.plugin !== null) await writeConfig(home, { plugin: options.plugin ?? [PLUGIN_FILE] });
  return home;
}

/** `opencode auth login` with a device-flow method, approved through the IdP's own pages. */
export async function deviceLoginInOpencode(home: OpencodeHome, provider: string, method: string) {
  const login = startOpencode(["auth", "login", "-p", provider, "-m", method], { home, timeoutMs: 60_000 });
  const [, url] = await login.waitFor(/Go to: (\S+)/, { timeoutMs: 45_000 });
  await approveDevice(stripAnsi(url ?? ""));
  const result = await login.exited;
  return {
    ...result,
    stdout: stripAnsi(result.stdout),
    stderr: stripAnsi(result.stderr),
    url: stripAnsi(url ?? ""),
  };
}

/** `opencode models <provider> --verbose` parsed into id → model JSON. */
export function parseVerboseModels(
  stdout: string,
): Record<
  string,
  { name: string; limit: { context: number; output: number }; capabilities: Record<string, unknown> }
> {
  const text = stripAnsi(stdout);
  const out: Record<string, never> = {};
  const re = /^(\S+\/\S+)\n(\{[\s\S]*?\n\})/gm;
  for (const match of text.matchAll(re)) out[match[1] as string] = JSON.parse(match[2] as string) as never;
  return out;
}

/** `opencode-oidc login --no-browser`, approved at the URL it prints on stderr. */
export async function cliLogin(home: OpencodeHome, args: string[] = [], env: Record<string, string> = {}) {
  const child = spawn("node", [CLI, "login", "--no-browser", ...args], {
    cwd: home.projectDir,
    env: { ...home.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const url = new Promise<string>((resolve) => {
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /(http:\/\/\S+\/device\?user_code=\S+)/.exec(stderr);
      if (match) resolve(match[1] as string);
    });
  });
  await approveDevice(await url);
  const [code] = await once(child, "exit");
  return { code: code as number | null, stderr };
}
