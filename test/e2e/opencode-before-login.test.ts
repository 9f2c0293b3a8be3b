/**
 * OpenCode before the first login, after a logout, and with the two README shapes of opencode.json
 * (the plugin line alone; a provider block written by hand without models). OpenCode 1.18.33 drops
 * a provider that has no models, so the plugin always gives it one: the last list, the preset's
 * static list, or the one "Log in to list models" entry whose requests answer how to connect.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PLACEHOLDER_MODEL_ID } from "../../src/opencode/placeholder.js";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { type OpencodeHome, runOpencode, stripAnsi, writeConfig } from "./support/opencode.js";
import { CLI, cliLogin, PLUGIN_FILE, parseVerboseModels, pluginHome } from "./support/plugin-home.js";

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const execFileAsync = promisify(execFile);
const GATEWAY_MODELS = ["haiiloAi/claude-sonnet-4", "haiiloAi/gpt-4o-mini", "haiiloAi/llama-3.1-70b"];
const CONNECT_HINT =
  "Connect in OpenCode: /connect (or Ctrl+P → Connect provider), choose Haiilo AI (gke), then Okta Device Flow or Manual API Key";

let box: Sandbox;
const homes: OpencodeHome[] = [];
const home = async () => {
  const h = await pluginHome(box);
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

const chats = (from: number) =>
  box.gateway.requests.slice(from).filter((r) => r.path === "/v1/chat/completions");

async function models(h: OpencodeHome) {
  const result = await runOpencode(["models", "haiiloAi"], { home: h });
  return { ...result, lines: stripAnsi(result.stdout).split("\n").filter(Boolean).sort() };
}

async function run(h: OpencodeHome, args: string[]) {
  const before = box.gateway.requests.length;
  const result = await runOpencode(["run", ...args, "hi"], { home: h });
  return { ...result, output: stripAnsi(result.stdout + result.stderr), chats: chats(before) };
}

describe("before the first login", () => {
  it("the plugin line alone: `opencode models` exits 0 with the connect entry; a message to it answers how to connect and reaches nobody", async () => {
    const h = await home();
    const listed = await models(h);
    expect(listed.code).toBe(0);
    expect(listed.lines).toEqual([`haiiloAi/${PLACEHOLDER_MODEL_ID}`]);

    const answered = await run(h, ["-m", `haiiloAi/${PLACEHOLDER_MODEL_ID}`]);
    expect(answered.code).not.toBe(0);
    expect(answered.output).toContain("Haiilo AI (gke) is not connected yet");
    expect(answered.output).toContain(CONNECT_HINT);
    expect(answered.output).not.toContain("Provider not found");
    expect(answered.chats).toEqual([]);
  });

  it("the default model of opencode.json: `opencode run` answers how to connect instead of 'not found'", async () => {
    const h = await home();
    await writeConfig(h, { plugin: [PLUGIN_FILE], model: "haiiloAi/claude-sonnet-4" });
    const answered = await run(h, []);
    expect(answered.code).not.toBe(0);
    expect(answered.output).toContain("Not logged in to Haiilo AI");
    expect(answered.output).toContain(CONNECT_HINT);
    expect(answered.output).not.toMatch(/not found/i);
    expect(answered.chats).toEqual([]);
  });

  it("the seed README's provider block without models: listed the same, and the gateway's models after a login", async () => {
    const h = await home();
    const block = {
      npm: "@ai-sdk/openai-compatible",
      name: "Haiilo AI (gke)",
      options: { baseURL: box.env.HAIILO_AI_BASE_URL },
    };
    await writeConfig(h, { plugin: [PLUGIN_FILE], provider: { haiiloAi: block } });
    expect((await models(h)).lines).toEqual([`haiiloAi/${PLACEHOLDER_MODEL_ID}`]);
    expect((await cliLogin(h)).code).toBe(0);
    const after = await models(h);
    expect(after.code).toBe(0);
    expect(after.lines).toEqual(GATEWAY_MODELS);
  });

  it("models written by hand win: no connect entry next to them, and their settings over the gateway's", async () => {
    const h = await home();
    const mine = { name: "Mini (mine)", limit: { context: 1000, output: 100 } };
    await writeConfig(h, {
      plugin: [PLUGIN_FILE],
      provider: { haiiloAi: { models: { "gpt-4o-mini": mine } } },
    });
    const before = parseVerboseModels(
      (await runOpencode(["models", "haiiloAi", "--verbose"], { home: h })).stdout,
    );
    expect(Object.keys(before)).toEqual(["haiiloAi/gpt-4o-mini"]);
    expect((await cliLogin(h)).code).toBe(0);
    const after = parseVerboseModels(
      (await runOpencode(["models", "haiiloAi", "--verbose"], { home: h })).stdout,
    );
    expect(Object.keys(after).sort()).toEqual(GATEWAY_MODELS);
    expect(after["haiiloAi/gpt-4o-mini"]).toMatchObject({
      name: "Mini (mine)",
      limit: { context: 1000, output: 100 },
    });
  });
});

describe("after a logout", () => {
  it("the last list stays (model names are no secret); a message answers how to connect and reaches nobody", async () => {
    const h = await home();
    expect((await cliLogin(h)).code).toBe(0);
    expect((await models(h)).lines).toEqual(GATEWAY_MODELS);
    await execFileAsync("node", [CLI, "logout"], { cwd: h.projectDir, env: h.env });

    const listed = await models(h);
    expect(listed.code).toBe(0);
    expect(listed.lines).toEqual(GATEWAY_MODELS);
    const answered = await run(h, ["-m", "haiiloAi/gpt-4o-mini"]);
    expect(answered.code).not.toBe(0);
    expect(answered.output).toContain(CONNECT_HINT);
    expect(answered.chats).toEqual([]);
  });
});
