/**
 * IT's rollout without touching home folders: OpenCode's managed config folder (`/etc/opencode` on
 * Linux, `/Library/Application Support/opencode` on macOS, `%ProgramData%\opencode` on Windows, read
 * last and so with the highest precedence) holds opencode.json with the plugin line and the tenant
 * preset in the plugin's options. OpenCode 1.18.33 takes the folder from
 * OPENCODE_TEST_MANAGED_CONFIG_DIR when that is set, which is how this test points it at a temp folder
 * instead of writing /etc.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { makeHome, type OpencodeHome, runOpencode, stripAnsi, writeConfig } from "./support/opencode.js";
import { deviceLoginInOpencode, PLUGIN_FILE } from "./support/plugin-home.js";

let box: Sandbox;
let home: OpencodeHome;
let managed: string;

beforeAll(async () => {
  box = await startSandbox();
  managed = await mkdtemp(join(tmpdir(), "oc-managed-"));
  home = await makeHome({
    prefix: "oc-managed-home-",
    env: { OPENCODE_TEST_MANAGED_CONFIG_DIR: managed, OPENCODE_OIDC_NO_BROWSER: "1" },
  });
});
afterAll(async () => {
  await box?.close();
  await home?.cleanup();
  await rm(managed, { recursive: true, force: true });
});

describe("the managed config folder", () => {
  it("rolls out the plugin with a tenant preset; it wins over the user's own plugin options", async () => {
    const tenant = {
      default: "acme",
      presets: [
        {
          id: "acme",
          extends: "haiilo",
          name: "Acme AI",
          provider: { id: "acmeAi", name: "Acme AI", baseURL: box.gateway.url },
          oidc: { issuer: box.idp.issuer, clientId: box.idp.clientId, audience: box.idp.audience },
        },
      ],
    };
    await writeFile(
      join(managed, "opencode.json"),
      JSON.stringify(
        { $schema: "https://opencode.ai/config.json", plugin: [[PLUGIN_FILE, tenant]] },
        null,
        2,
      ),
    );
    // The user's own config names the same plugin with other options: the managed entry wins.
    await writeConfig(home, { plugin: [[PLUGIN_FILE, { preset: "haiilo" }]] });
    expect(Object.keys(home.env).filter((k) => k.startsWith("OKTA_") || k === "HAIILO_AI_BASE_URL")).toEqual(
      [],
    );

    const resolved = await runOpencode(["debug", "config"], { home });
    expect(resolved.code).toBe(0);
    expect(stripAnsi(resolved.stdout)).toContain(box.gateway.url);

    const login = await deviceLoginInOpencode(home, "acmeAi", "Okta Device Flow");
    expect(login.code, login.stderr).toBe(0);
    expect(JSON.parse(await readFile(home.authFile, "utf8")).acmeAi).toMatchObject({ type: "oauth" });

    const listed = await runOpencode(["models", "acmeAi"], { home });
    expect(stripAnsi(listed.stdout).split("\n").filter(Boolean).sort()).toEqual([
      "acmeAi/claude-sonnet-4",
      "acmeAi/gpt-4o-mini",
      "acmeAi/llama-3.1-70b",
    ]);
    const before = box.gateway.requests.length;
    const run = await runOpencode(["run", "-m", "acmeAi/gpt-4o-mini", "hi"], { home });
    expect(run.code).toBe(0);
    expect(stripAnsi(run.stdout)).toContain("Hello from gpt-4o-mini");
    const chats = box.gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
    expect(chats.length).toBeGreaterThan(0);
    for (const chat of chats) expect(chat).toMatchObject({ auth: "bearer", allowed: true, sub: "alice" });
  });
});
