/** Shared fixtures: temp folders, the sandbox IdP, device logins (in process and with the CLI), child processes. */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OidcSettings } from "../../src/core/oauth/client.js";
import { pollDeviceToken, startDeviceAuthorization } from "../../src/core/oauth/device.js";
import type { TokenSet } from "../../src/core/ports.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type IdpOptions, startIdp, type TestIdp } from "../../src/sandbox/idp.js";
import { SANDBOX_AUDIENCE, SANDBOX_CLIENT_ID } from "../../src/sandbox/sandbox.js";
import { ChildRun } from "../../test/support/child-processes.js";
import { API_SCOPE, oidcSettings } from "../../test/support/engine-fixtures.js";

export { oidcSettings };

import { onCleanup, trackChild } from "./cleanup.js";

export const TMP_PREFIX = "oidc-bench-";

export interface TempHome {
  dir: string;
  projectDir: string;
  env: Record<"HOME" | "XDG_CONFIG_HOME" | "XDG_DATA_HOME" | "XDG_CACHE_HOME", string>;
  tokenFile: string;
}

/** A temp HOME with XDG folders and a project folder (a minimal git repo); removed at cleanup. */
export function tempHome(label: string): TempHome {
  const dir = mkdtempSync(join(tmpdir(), `${TMP_PREFIX}${label}-`));
  onCleanup(`temp ${dir}`, () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  const projectDir = join(dir, "project");
  mkdirSync(join(projectDir, ".git", "objects"), { recursive: true });
  mkdirSync(join(projectDir, ".git", "refs", "heads"), { recursive: true });
  writeFileSync(join(projectDir, ".git", "HEAD"), "ref: refs/heads/main\n");
  const configHome = join(dir, "config");
  return {
    dir,
    projectDir,
    env: {
      HOME: join(dir, "home"),
      XDG_CONFIG_HOME: configHome,
      XDG_DATA_HOME: join(dir, "data"),
      XDG_CACHE_HOME: join(dir, "cache"),
    },
    tokenFile: join(configHome, "opencode-auth", "tokens.json"),
  };
}

/** The sandbox IdP as `startSandbox` configures it (client, audience, API scope, 1 s polling). */
export async function benchIdp(options: IdpOptions = {}): Promise<TestIdp> {
  const idp = await startIdp({
    clientId: SANDBOX_CLIENT_ID,
    audience: SANDBOX_AUDIENCE,
    scopes: [API_SCOPE],
    deviceInterval: 1,
    ...options,
  });
  onCleanup(`idp ${idp.issuer}`, () => idp.close());
  return idp;
}

/** The environment variables that point the bundled Haiilo preset at the sandbox. */
export function presetEnv(idp: TestIdp, baseURL: string): Record<string, string> {
  return {
    OKTA_ISSUER: idp.issuer,
    OKTA_CLIENT_ID: idp.clientId,
    OKTA_AUDIENCE: idp.audience,
    HAIILO_AI_BASE_URL: baseURL,
  };
}

/** A real device login against the IdP, approved through its pages, without waiting for the poll interval. */
export async function deviceLogin(settings: OidcSettings): Promise<TokenSet> {
  const auth = await startDeviceAuthorization(settings);
  if (!auth.verificationUriComplete) throw new Error("the IdP sent no verification_uri_complete");
  await approveDevice(auth.verificationUriComplete);
  return pollDeviceToken(settings, auth, { sleep: async () => {} });
}

/** `opencode-oidc login --no-browser` (the given CLI build), approved at the URL it prints. */
export async function cliLogin(cli: string, env: Record<string, string>, cwd: string): Promise<void> {
  const child = spawn(process.execPath, [cli, "login", "--no-browser"], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackChild(child);
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /(http:\/\/\S+\/device\?user_code=\S+)/.exec(stderr);
      if (match) resolve(match[1] as string);
    });
    void exited.then((code) => reject(new Error(`login exited (${code}) before printing a URL:\n${stderr}`)));
  });
  await approveDevice(url);
  const code = await exited;
  if (code !== 0) throw new Error(`opencode-oidc login failed (${code}):\n${stderr}`);
}

/** A child process whose output can be awaited line by line; killed at cleanup. */
export function child(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): ChildRun {
  const run = new ChildRun(command, args, { env, cwd });
  trackChild(run.child);
  return run;
}
