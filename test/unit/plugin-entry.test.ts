/**
 * The plugin entry's shape, which OpenCode 1.18.33 relies on (test/e2e/support/FINDINGS.md, Q8):
 * every export is a plugin function (any other export makes OpenCode refuse the whole module), one
 * per preset slot, and slot N registers the N-th preset's provider with that preset's own methods.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PluginInput } from "@opencode-ai/plugin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPENCODE_PRESET_SLOTS } from "../../src/core/defaults.js";
import * as entry from "../../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "plugin-entry-"));
const saved = { ...process.env };
beforeAll(() => {
  // Logs and stores of the tenants land in the temp folder, and no config file is found.
  Object.assign(process.env, {
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, "config"),
    XDG_DATA_HOME: join(dir, "data"),
    XDG_CACHE_HOME: join(dir, "cache"),
  });
});
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  rmSync(dir, { recursive: true, force: true });
});

const tenant = (n: number) => ({
  id: `tenant${n}`,
  extends: "haiilo",
  name: `Tenant ${n}`,
  provider: { id: `tenant${n}Ai`, name: `Tenant ${n} AI`, baseURL: `https://ai${n}.example/v1` },
  oidc: { issuer: `https://idp${n}.example`, clientId: `client${n}` },
  env: {},
});

describe("the plugin entry (src/index.ts)", () => {
  it("exports only plugin functions, one per preset slot", () => {
    const exports = Object.values(entry);
    expect(exports).toHaveLength(OPENCODE_PRESET_SLOTS);
    for (const value of exports) expect(typeof value).toBe("function");
    expect(new Set(exports).size).toBe(OPENCODE_PRESET_SLOTS); // OpenCode calls identical values once
  });

  it("slot N gives the N-th preset its own provider and methods; empty slots give nothing", async () => {
    const input = { directory: dir } as PluginInput;
    const options = { presets: [tenant(1), tenant(2)] };
    const slots = [entry.default, entry.preset2, entry.preset3, entry.preset4];
    const hooks = await Promise.all(slots.map((slot) => slot(input, options)));
    expect(hooks.map((h) => h.auth?.provider)).toEqual(["haiiloAi", "tenant1Ai", "tenant2Ai", undefined]);
    for (const h of hooks.slice(0, 3))
      expect(h.auth?.methods.map((m) => m.label)).toEqual(["Okta Device Flow", "Manual API Key"]);
    expect(hooks[3]).toEqual({});
  });

  it("presets beyond the last slot are offered in the default preset's menu, prefixed", async () => {
    const input = { directory: dir } as PluginInput;
    const presets = Array.from({ length: OPENCODE_PRESET_SLOTS }, (_, i) => tenant(i + 1));
    const first = await entry.default(input, { presets });
    const last = presets.at(-1);
    expect(first.auth?.methods.map((m) => m.label)).toEqual([
      "Okta Device Flow",
      "Manual API Key",
      `${last?.name}: Okta Device Flow`,
    ]);
  });
});
