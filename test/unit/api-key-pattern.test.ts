/**
 * M4 (issue 10): an API-key `pattern` from a preset must not backtrack catastrophically. On main
 * `^([a-z0-9-]+)+!$` was accepted and then took 5.4 s per check of a 27-character key.
 */
import { describe, expect, it } from "vitest";
import { MAX_API_KEY_CHARS } from "../../src/core/defaults.js";
import { isOidcError } from "../../src/core/errors.js";
import { applyDefaults } from "../../src/presets/defaults.js";
import { resolvePresets } from "../../src/presets/resolve.js";
import { checkApiKey } from "../../src/tenant/api-key.js";

const withPattern = (pattern: string) => ({
  presets: [{ id: "acme", extends: "haiilo", provider: { id: "acmeAi" }, auth: { apiKey: { pattern } } }],
});

describe("API-key patterns (M4)", () => {
  it("refuses a pattern that can backtrack catastrophically, in any layer, before it ever runs", async () => {
    for (const pattern of ["^([a-z0-9-]+)+!$", "^(a|a)*$", "^(\\w+\\s?)*$"]) {
      const started = performance.now();
      const { issues, presets } = await resolvePresets({
        configFiles: false,
        pluginOptions: withPattern(pattern),
      });
      expect(performance.now() - started, pattern).toBeLessThan(2_000);
      expect(issues, pattern).toEqual([
        {
          source: "plugin options",
          pointer: "/presets/0/auth/apiKey/pattern",
          message: expect.stringContaining("backtrack"),
        },
      ]);
      expect(presets.has("acme"), pattern).toBe(false);
    }
  });

  it("accepts ordinary patterns, and a bundled preset's", async () => {
    for (const pattern of ["^sk-", "^sk-[A-Za-z0-9_-]{20,}$", "^sk-(live|test)_[a-f0-9]{32}$"]) {
      const { issues, presets } = await resolvePresets({
        configFiles: false,
        pluginOptions: withPattern(pattern),
      });
      expect(issues, pattern).toEqual([]);
      expect(presets.get("acme")?.preset.auth.apiKey.pattern).toBe(pattern);
    }
  });

  it("runs a pattern only on a key of bounded length", () => {
    // Even a pattern that slipped past validation (a host calling checkApiKey directly) gets at most
    // MAX_API_KEY_CHARS characters, and a longer key is refused without running it.
    const preset = applyDefaults({ id: "acme", auth: { apiKey: { pattern: "^([a-z0-9-]+)+!$" } } });
    const started = performance.now();
    const error = (() => {
      try {
        checkApiKey(preset, "a".repeat(MAX_API_KEY_CHARS + 1));
      } catch (e) {
        return e;
      }
    })();
    expect(performance.now() - started).toBeLessThan(100);
    expect(isOidcError(error, "API_KEY_INVALID")).toBe(true);
    expect((error as Error).message).toContain(`at most ${MAX_API_KEY_CHARS}`);
  });
});
