/**
 * The token store in the OS keyring inside the real OpenCode binary (Bun runtime): a device login in
 * OpenCode with OPENCODE_OIDC_TOKEN_STORE=keyring, `opencode run` with a Bearer token the gateway
 * accepts, `opencode-oidc status` naming the store; the same from the dev-mode drop-in bundle; and a
 * keyring that is gone afterwards gives a clear answer in OpenCode instead of a crash. A real
 * gnome-keyring Secret Service on a private D-Bus (test/support/secret-service.ts).
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { type SecretService, secretServiceAvailable, startSecretService } from "../support/secret-service.js";
import { type OpencodeHome, runOpencode, stripAnsi } from "./support/opencode.js";
import { CLI, deviceLoginInOpencode, pluginHome, REPO } from "./support/plugin-home.js";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const execFileAsync = promisify(execFile);
const usable = secretServiceAvailable("the OpenCode end-to-end tests with the OS keyring");

let box: Sandbox;
let keyring: SecretService;
const homes: OpencodeHome[] = [];

beforeAll(async () => {
  if (!usable) return;
  [box, keyring] = await Promise.all([startSandbox(), startSecretService()]);
});
afterAll(async () => {
  await box?.close();
  await keyring?.stop();
  await Promise.all(homes.map((h) => h.cleanup()));
});

const keyringEnv = () => ({ OPENCODE_OIDC_TOKEN_STORE: "keyring", ...keyring.env });
const tokenFile = (h: OpencodeHome) => join(h.env.XDG_CONFIG_HOME as string, "opencode-auth", "tokens.json");
const cli = (h: OpencodeHome, args: string[], env: Record<string, string> = {}) =>
  execFileAsync("node", [CLI, ...args], { cwd: h.projectDir, env: { ...h.env, ...env } });

/** Every file below `dir` (for "nothing readable lands on disk"). */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** `opencode run` through the gateway: every chat request carried an accepted Bearer token. */
async function chatWithBearer(h: OpencodeHome) {
  const before = box.gateway.requests.length;
  const run = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], { home: h });
  expect(run.code, run.stderr).toBe(0);
  expect(stripAnsi(run.stdout)).toContain("Hello from gpt-4o-mini");
  const chats = box.gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
  expect(chats.length).toBeGreaterThanOrEqual(1);
  for (const chat of chats)
    expect(chat).toMatchObject({ auth: "bearer", allowed: true, status: 200, sub: "alice" });
}

describe.runIf(usable)("OpenCode with the token store in the OS keyring", () => {
  let h: OpencodeHome;

  it("device login in OpenCode (tokenStore keyring) → `opencode run` with a valid Bearer token; status names the keyring; no token on disk", async () => {
    h = await pluginHome(box, { env: keyringEnv() });
    homes.push(h);
    const login = await deviceLoginInOpencode(h, "haiiloAi", "Okta Device Flow");
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain("Login successful");

    const sealed = JSON.parse(await readFile(tokenFile(h), "utf8"));
    expect(sealed).toMatchObject({ version: 1, sealed: { alg: "A256GCM" } });
    expect(await keyring.lookup("opencode-oidc", tokenFile(h))).toMatch(/^[A-Za-z0-9+/]{43}=$/);

    await chatWithBearer(h);

    const { stdout } = await cli(h, ["status", "--json"]);
    expect(JSON.parse(stdout)).toMatchObject({
      loggedIn: true,
      email: "alice@example.com",
      storeKind: "keyring",
      tokenStore: "keyring",
      keyring: { name: "the Secret Service", service: "opencode-oidc", account: tokenFile(h) },
    });
    const text = await cli(h, ["status"]);
    expect(text.stdout).toContain("Store:     OS keyring:");
    expect(text.stdout).toContain("Setting:   tokenStore keyring");

    // The access token in use is nowhere on disk (store, logs, OpenCode's files, the keyring's files).
    const access = (await cli(h, ["token"])).stdout.trim();
    expect(access).toMatch(/^eyJ/);
    for (const file of [...(await filesBelow(h.dir)), ...(await filesBelow(keyring.dataDir))]) {
      const content = await readFile(file, "latin1");
      expect(content.includes(access), `${file} holds the access token`).toBe(false);
    }
  });

  it("the keyring gone afterwards (no D-Bus): OpenCode answers with the store's error, it does not crash", async () => {
    const run = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], {
      home: h,
      env: { DBUS_SESSION_BUS_ADDRESS: undefined },
    });
    const output = stripAnsi(`${run.stdout}\n${run.stderr}`);
    expect(output).toContain("needs the Secret Service, which cannot be used");
    expect(output).not.toMatch(/Segmentation fault|panicked|Bun has crashed/i);
    expect(run.signal).toBeNull();
  });

  it("the dev-mode drop-in bundle loads the keyring module from the checkout: CLI login, then `opencode run`", async () => {
    const d = await pluginHome(box, { plugin: null, env: keyringEnv() });
    homes.push(d);
    await execFileAsync("node", [join(REPO, "scripts/dev.mjs"), "build"], { cwd: REPO, env: d.env });
    const bundle = await readFile(join(d.configDir, "plugins", "haiilo-ai-dev.js"), "utf8");
    expect(bundle).toContain(`import("file://${join(REPO, "node_modules/@napi-rs/keyring/index.js")}")`);

    const child = spawn("node", [CLI, "login", "--no-browser"], {
      cwd: d.projectDir,
      env: d.env,
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
    expect(code, stderr).toBe(0);
    expect(stderr).toContain("encrypted with a key kept in the Secret Service");
    await chatWithBearer(d);
  });
});
