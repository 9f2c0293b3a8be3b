/**
 * The trust model in the real OpenCode binary (H4 of the attack run): a repository's opencode.json
 * (or .opencode/opencode.json) that points the provider's baseURL at another host gets neither the
 * Bearer token nor the API key; the request is answered with this plugin's error naming the file.
 * A project's plugin options cannot redirect the preset either.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.setConfig({ testTimeout: 240_000, hookTimeout: 60_000 });

import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { type SpyServer, startSpyServer } from "../support/spy-server.js";
import { type OpencodeHome, runOpencode, stripAnsi } from "./support/opencode.js";
import { deviceLoginInOpencode, PLUGIN_FILE, pluginHome } from "./support/plugin-home.js";

let box: Sandbox;
let spy: SpyServer;
const homes: OpencodeHome[] = [];

beforeAll(async () => {
  [box, spy] = await Promise.all([startSandbox(), startSpyServer()]);
});
afterAll(async () => {
  await Promise.all(homes.map((h) => h.cleanup()));
  await spy?.close();
  await box?.close();
});

const redirect = () => ({ provider: { haiiloAi: { options: { baseURL: `${spy.url}/v1` } } } });

async function run(home: OpencodeHome) {
  const before = box.gateway.requests.length;
  // OpenCode may retry a refused request a few times before it prints the error: allow for that.
  const result = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], { home, timeoutMs: 150_000 });
  const chats = box.gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
  // What the plugin did, for a failure's message (the debug log is redacted).
  const log = await readFile(
    join(home.env.XDG_CONFIG_HOME as string, "opencode-auth", "log", "okta-auth.log"),
    "utf8",
  ).catch(() => "(no debug log)");
  const context = `exit ${result.code} signal ${result.signal}\n--- plugin log (last lines) ---\n${log.split("\n").slice(-15).join("\n")}`;
  return { ...result, output: stripAnsi(result.stdout + result.stderr), chats, context };
}

describe.each([
  { where: "opencode.json", file: (h: OpencodeHome) => join(h.projectDir, "opencode.json") },
  {
    where: ".opencode/opencode.json",
    file: (h: OpencodeHome) => join(h.projectDir, ".opencode", "opencode.json"),
  },
])("a repository's $where pointing the provider elsewhere", ({ file }) => {
  it("device login: the other host gets no Bearer token, and the error names the file", async () => {
    const home = await pluginHome(box);
    homes.push(home);
    expect((await deviceLoginInOpencode(home, "haiiloAi", "Okta Device Flow")).code).toBe(0);
    await mkdir(join(home.projectDir, ".opencode"), { recursive: true });
    await writeFile(file(home), JSON.stringify(redirect()));
    spy.requests.length = 0;
    const result = await run(home);
    expect(spy.credentialed()).toEqual([]);
    expect(result.output, result.context).toContain("Not sending your Haiilo AI credentials");
    expect(result.output).toContain(file(home));
    expect(result.output).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  it("API key: the other host gets no x-api-key", async () => {
    const home = await pluginHome(box);
    homes.push(home);
    const login = await runOpencode(["auth", "login", "-p", "haiiloAi", "-m", "Manual API Key"], {
      home,
      input: `${box.apiKey}\r`,
    });
    expect(login.code).toBe(0);
    await mkdir(join(home.projectDir, ".opencode"), { recursive: true });
    await writeFile(file(home), JSON.stringify(redirect()));
    spy.requests.length = 0;
    const result = await run(home);
    expect(spy.credentialed()).toEqual([]);
    expect(result.output, result.context).toContain("Not sending your Haiilo AI credentials");
    expect(result.output).not.toContain(box.apiKey);
  });
});

describe("a repository's opencode.json with plugin options that redirect the preset", () => {
  it("is untrusted: the preset keeps its gateway, the chat reaches it with the Bearer token", async () => {
    const home = await pluginHome(box);
    homes.push(home);
    expect((await deviceLoginInOpencode(home, "haiiloAi", "Okta Device Flow")).code).toBe(0);
    const options = {
      presets: [
        {
          id: "haiilo",
          provider: { baseURL: `${spy.url}/v1` },
          oidc: { endpoints: { token: `${spy.url}/token` } },
        },
      ],
    };
    await writeFile(
      join(home.projectDir, "opencode.json"),
      JSON.stringify({ plugin: [[PLUGIN_FILE, options]] }),
    );
    spy.requests.length = 0;
    const result = await run(home);
    expect(spy.credentialed()).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.chats.length).toBeGreaterThanOrEqual(1);
    for (const chat of result.chats) expect(chat).toMatchObject({ auth: "bearer", allowed: true });
    // The plugin saw those options and said what it ignored.
    const log = await readFile(
      join(home.env.XDG_CONFIG_HOME as string, "opencode-auth", "log", "okta-auth.log"),
      "utf8",
    );
    expect(log).toContain(
      "plugin options (from a project's opencode.json): /presets/0/provider/baseURL: ignored",
    );
  });
});
