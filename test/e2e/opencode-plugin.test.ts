import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

import { PLACEHOLDER_MODEL_ID } from "../../src/opencode/placeholder.js";
import { startGateway } from "../../src/sandbox/gateway.js";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { type OpencodeHome, runOpencode, stripAnsi } from "./support/opencode.js";
import {
  CLI,
  cliLogin,
  deviceLoginInOpencode,
  parseVerboseModels,
  pluginHome,
  REPO,
} from "./support/plugin-home.js";

const execFileAsync = promisify(execFile);
const cli = (home: OpencodeHome, args: string[], env: Record<string, string> = {}) =>
  execFileAsync("node", [CLI, ...args], { cwd: home.projectDir, env: { ...home.env, ...env } });

const tokenStore = (home: OpencodeHome) =>
  join(home.env.XDG_CONFIG_HOME as string, "opencode-auth", "tokens.json");
const pluginLog = (home: OpencodeHome) =>
  join(home.env.XDG_CONFIG_HOME as string, "opencode-auth", "log", "okta-auth.log");

let box: Sandbox;
const homes: OpencodeHome[] = [];
const home = async (options?: Parameters<typeof pluginHome>[1]) => {
  const h = await pluginHome(box, options);
  homes.push(h);
  return h;
};

beforeAll(async () => {
  box = await startSandbox();
});
afterAll(async () => {
  await box?.close();
  await Promise.all(homes.map((h) => h.cleanup()));
});

describe("the plugin in the real OpenCode binary", () => {
  let h: OpencodeHome;

  it("device login through `opencode auth login`, then the gateway's models with the preset's names and limits", async () => {
    h = await home();
    const login = await deviceLoginInOpencode(h, "haiiloAi", "Okta Device Flow");
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(/Confirm the code [A-Z]{4}-[A-Z]{4} at http:\/\/127\.0\.0\.1:\d+\/device/);
    expect(login.stdout).toContain("Login successful");
    // OpenCode records a marker, never the tokens; the tokens are in the 0600 store.
    const auth = JSON.parse(await readFile(h.authFile, "utf8"));
    expect(auth.haiiloAi).toMatchObject({
      type: "oauth",
      access: "stored-by-opencode-oidc",
      refresh: "stored-by-opencode-oidc",
    });
    expect((await stat(tokenStore(h))).mode & 0o777).toBe(0o600);

    const listed = await runOpencode(["models", "haiiloAi", "--verbose"], { home: h });
    expect(listed.code).toBe(0);
    const models = parseVerboseModels(listed.stdout);
    expect(Object.keys(models).sort()).toEqual([
      "haiiloAi/claude-sonnet-4",
      "haiiloAi/gpt-4o-mini",
      "haiiloAi/llama-3.1-70b",
    ]);
    // Preset rule `claude-*` (200000/64000, reasoning) over the gateway's metadata; `gpt-4o*` limits; LiteLLM info for llama.
    expect(models["haiiloAi/claude-sonnet-4"]).toMatchObject({
      limit: { context: 200000, output: 64000 },
      capabilities: { reasoning: true, toolcall: true, attachment: true },
    });
    expect(models["haiiloAi/gpt-4o-mini"]?.limit).toEqual({ context: 128000, output: 16384 });
    expect(models["haiiloAi/llama-3.1-70b"]).toMatchObject({
      limit: { context: 128000, output: 4096 },
      capabilities: { attachment: false },
    });
  });

  it("a login made in OpenCode is what the CLI sees (one session, two doors)", async () => {
    const { stdout } = await cli(h, ["status", "--json"]);
    expect(JSON.parse(stdout)).toMatchObject({
      preset: "haiilo",
      loggedIn: true,
      email: "alice@example.com",
      refreshable: true,
    });
  });

  it("`opencode run` sends a valid Bearer token for the gateway's audience", async () => {
    const before = box.gateway.requests.length;
    const run = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], { home: h });
    expect(run.code).toBe(0);
    expect(stripAnsi(run.stdout)).toContain("Hello from gpt-4o-mini");
    const chats = box.gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
    expect(chats.length).toBeGreaterThanOrEqual(1);
    for (const chat of chats)
      expect(chat).toMatchObject({
        auth: "bearer",
        allowed: true,
        status: 200,
        sub: "alice",
        aud: box.idp.audience,
      });
  });

  it("the access token expires during use: requests go on with a refreshed token", async () => {
    const store = JSON.parse(await readFile(tokenStore(h), "utf8"));
    const [entry] = Object.values(store.sessions) as Array<{ accessToken: string; expiresAt: number }>;
    // Case 1: the store says the token has expired → refreshed before the request.
    entry!.expiresAt = Date.now() - 1000;
    await writeFile(tokenStore(h), JSON.stringify(store));
    const refreshesBefore = box.idp.counts.refreshGrant;
    const first = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], { home: h });
    expect(first.code).toBe(0);
    expect(box.idp.counts.refreshGrant).toBe(refreshesBefore + 1);

    // Case 2: the token looks fresh but the gateway says it expired (clock skew, revocation) → 401,
    // one refresh, one retry.
    const again = JSON.parse(await readFile(tokenStore(h), "utf8"));
    const [current] = Object.values(again.sessions) as Array<{ accessToken: string; expiresAt: number }>;
    current!.accessToken = await box.idp.mintAccessToken(
      { sub: "alice", client_id: box.idp.clientId },
      { expiresInSeconds: -120 },
    );
    current!.expiresAt = Date.now() + 3_600_000;
    await writeFile(tokenStore(h), JSON.stringify(again));
    const before = box.gateway.requests.length;
    const second = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], { home: h });
    expect(second.code).toBe(0);
    const chats = box.gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
    expect(chats[0]).toMatchObject({ status: 401, reason: "jwt_expired" });
    expect(chats.slice(1).every((c) => c.status === 200 && c.auth === "bearer")).toBe(true);
    expect(box.idp.counts.refreshGrant).toBe(refreshesBefore + 2);
  });

  it("API key login: the gateway sees x-api-key (and a key of the wrong shape gets a clear error)", async () => {
    const k = await home();
    const login = await runOpencode(["auth", "login", "-p", "haiiloAi", "-m", "Manual API Key"], {
      home: k,
      input: `${box.apiKey}\r`,
    });
    expect(login.code).toBe(0);
    const before = box.gateway.requests.length;
    const run = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], { home: k });
    expect(run.code).toBe(0);
    const chats = box.gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
    expect(chats.length).toBeGreaterThanOrEqual(1);
    for (const chat of chats)
      expect(chat).toMatchObject({ auth: "api-key", allowed: true, client: "sandbox-client" });
    const output = stripAnsi(run.stdout + run.stderr);
    expect(output).not.toContain(box.apiKey);

    // A key of the wrong shape typed into OpenCode (its prompt is masked and does not ask the plugin):
    // every request answers with the preset's rule instead of reaching the gateway.
    const sentBefore = box.gateway.requests.length;
    await runOpencode(["auth", "login", "-p", "haiiloAi", "-m", "Manual API Key"], {
      home: k,
      input: "pk-wrong-shape\r",
    });
    const failed = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], {
      home: k,
      timeoutMs: 60_000,
    });
    expect(failed.code).not.toBe(0);
    expect(stripAnsi(failed.stdout + failed.stderr)).toContain("keys must match ^sk-");
    expect(box.gateway.requests.slice(sentBefore).filter((r) => r.path === "/v1/chat/completions")).toEqual(
      [],
    );
  });
});

describe("startup never waits long for an unreachable gateway", () => {
  it("stale cache, gateway down: models come from the last good list", async () => {
    const h = await home();
    const own = await startGateway({
      issuer: box.idp.issuer,
      audiences: [box.idp.audience],
      jwksUri: box.idp.jwksUri,
    });
    const env = { HAIILO_AI_BASE_URL: own.url };
    expect((await cliLogin(h, [], env)).code).toBe(0);
    const warm = await runOpencode(["models", "haiiloAi"], { home: h, env });
    expect(stripAnsi(warm.stdout)).toContain("haiiloAi/gpt-4o-mini");
    await own.close();
    // Make the cached list stale, so the plugin wants to refresh it and finds the gateway gone.
    const cacheDir = join(h.env.XDG_CACHE_HOME as string, "opencode-oidc");
    const [cacheFile] = (await readdir(cacheDir)).filter((f) => f.startsWith("models-haiilo-"));
    const cached = JSON.parse(await readFile(join(cacheDir, cacheFile as string), "utf8"));
    await writeFile(join(cacheDir, cacheFile as string), JSON.stringify({ ...cached, fetchedAt: 0 }));
    const listed = await runOpencode(["models", "haiiloAi"], { home: h, env });
    expect(listed.code).toBe(0);
    expect(stripAnsi(listed.stdout).split("\n").filter(Boolean).sort()).toEqual([
      "haiiloAi/claude-sonnet-4",
      "haiiloAi/gpt-4o-mini",
      "haiiloAi/llama-3.1-70b",
    ]);
  });

  it("cold cache, gateway accepting connections but never answering: the command ends after the discovery timeout", async () => {
    const h = await home();
    const hole = await startBlackHole();
    expect((await cliLogin(h, [], { HAIILO_AI_BASE_URL: hole.url })).code).toBe(0);
    try {
      const listed = await runOpencode(["models", "haiiloAi"], {
        home: h,
        env: { HAIILO_AI_BASE_URL: hole.url },
        timeoutMs: 30_000,
      });
      expect(listed.timedOut).toBe(false);
      expect(hole.connections()).toBeGreaterThanOrEqual(1);
      expect(await readFile(pluginLog(h), "utf8")).toMatch(/did not answer .* in time/);
    } finally {
      await hole.close();
    }
  });
});

describe("more than one preset", () => {
  it("a tenant preset from a config file is its own provider and works end to end", async () => {
    const h = await home();
    await writeFile(
      join(h.projectDir, "opencode-oidc.config.json"),
      JSON.stringify({
        presets: [
          {
            id: "acme",
            extends: "haiilo",
            name: "Acme AI",
            provider: { id: "acmeAi", name: "Acme AI", baseURL: box.gateway.url },
            oidc: { issuer: box.idp.issuer, clientId: box.idp.clientId },
            env: {},
            log: { file: "acme.log" },
          },
        ],
      }),
    );
    // Before any login the tenant's provider is there (with the connect entry) and has its own methods.
    const before = await runOpencode(["models", "acmeAi"], { home: h });
    expect(before.code).toBe(0);
    expect(stripAnsi(before.stdout).trim()).toBe(`acmeAi/${PLACEHOLDER_MODEL_ID}`);
    const methods = await runOpencode(["auth", "login", "-p", "acmeAi", "-m", "Nope"], { home: h });
    expect(stripAnsi(methods.stderr)).toContain("Available: Okta Device Flow, Manual API Key");

    const login = await deviceLoginInOpencode(h, "acmeAi", "Okta Device Flow");
    expect(login.code).toBe(0);
    expect(JSON.parse(await readFile(h.authFile, "utf8")).acmeAi).toMatchObject({ type: "oauth" });
    const listed = await runOpencode(["models", "acmeAi"], { home: h });
    expect(stripAnsi(listed.stdout)).toContain("acmeAi/claude-sonnet-4");
    const sent = box.gateway.requests.length;
    const run = await runOpencode(["run", "-m", "acmeAi/claude-sonnet-4", "hi"], { home: h });
    expect(run.code).toBe(0);
    const chats = box.gateway.requests.slice(sent).filter((r) => r.path === "/v1/chat/completions");
    expect(chats.length).toBeGreaterThanOrEqual(1);
    for (const chat of chats) expect(chat).toMatchObject({ auth: "bearer", allowed: true, sub: "alice" });
    // The CLI sees the same session under the tenant preset.
    expect(JSON.parse((await cli(h, ["status", "--json", "--preset", "acme"])).stdout)).toMatchObject({
      loggedIn: true,
    });
  });
});

/** A TCP server that accepts connections and never answers; `url` is an OpenAI-style base URL. */
async function startBlackHole(): Promise<{
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  let count = 0;
  const server: Server = createServer(() => {
    count++;
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    connections: () => count,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("how users install it", () => {
  it("loads as an npm package (a packed tarball, installed by OpenCode's own npm)", async () => {
    const packDir = await mkdtemp(join(tmpdir(), "opencode-oidc-pack-"));
    const { stdout } = await execFileAsync("npm", ["pack", "--silent", "--pack-destination", packDir], {
      cwd: REPO,
    });
    const tarball = join(packDir, stdout.trim().split("\n").at(-1) as string);
    const h = await home({ plugin: [`@haiilo/opencode-haiilo-ai@file:${tarball}`] });
    expect((await cliLogin(h)).code).toBe(0);
    const listed = await runOpencode(["models", "haiiloAi"], { home: h, timeoutMs: 180_000 });
    expect(stripAnsi(listed.stdout)).toContain("haiiloAi/claude-sonnet-4");
    // Every preset's own login methods, from the installed package's one export per preset.
    await writeFile(
      join(h.projectDir, "opencode-oidc.config.json"),
      JSON.stringify({
        presets: [
          {
            id: "acme",
            extends: "haiilo",
            name: "Acme AI",
            provider: { id: "acmeAi", name: "Acme AI", baseURL: box.gateway.url },
            oidc: { issuer: box.idp.issuer, clientId: box.idp.clientId },
            env: {},
          },
        ],
      }),
    );
    const methods = await runOpencode(["auth", "login", "-p", "acmeAi", "-m", "Nope"], { home: h });
    expect(stripAnsi(methods.stderr)).toContain("Available: Okta Device Flow, Manual API Key");
    await rm(packDir, { recursive: true, force: true });
  }, 240_000);

  it("dev mode: the bundle loads from the plugins folder, and dev:stop restores opencode.json byte for byte", async () => {
    const h = await home({ plugin: null });
    const configFile = join(h.configDir, "opencode.json");
    const original =
      '{\n  "$schema": "https://opencode.ai/config.json",\n  "plugin": ["@haiilo/opencode-haiilo-ai@0.1.0"],\n  "autoupdate": false\n}\n';
    await writeFile(configFile, original);
    const dev = (command: string) =>
      execFileAsync("node", [join(REPO, "scripts/dev.mjs"), command], { cwd: REPO, env: h.env });
    await dev("start");
    expect(JSON.parse(await readFile(configFile, "utf8")).plugin).toEqual([]);
    expect((await readdir(h.configDir)).some((f) => f.startsWith("opencode.json.bak-pre-dev-"))).toBe(true);
    expect((await cliLogin(h)).code).toBe(0);
    const listed = await runOpencode(["models", "haiiloAi"], { home: h });
    expect(stripAnsi(listed.stdout)).toContain("haiiloAi/gpt-4o-mini");
    await dev("stop");
    expect(await readFile(configFile, "utf8")).toBe(original);
    expect(await readdir(join(h.configDir, "plugins"))).toEqual([]);
  });
});
