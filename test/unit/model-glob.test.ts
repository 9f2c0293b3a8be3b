/**
 * M4 (issue 10): model globs from presets must not backtrack catastrophically. On the regex-based
 * matcher `*a*a*a*a*a*a*ab` against a 60-character id took 5.4 s, on every `models` run and on the
 * cached startup path.
 */
import { describe, expect, it } from "vitest";
import { matchesGlob } from "../../src/core/models/glob.js";
import { applyModelSettings } from "../../src/core/models/settings.js";

/** The obvious regex translation, as a reference on inputs short enough for it to be quick. */
function referenceMatch(id: string, glob: string): boolean {
  const body = [...glob]
    .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\/-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "s").test(id);
}

/** A small deterministic generator, so a failure names a reproducible case. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe("model globs (M4)", () => {
  it("a glob built to backtrack is answered at once, also through the model settings of a listing", () => {
    const id = "a".repeat(60);
    const evil = ["*a*a*a*a*a*a*ab", "*a*a*a*a*a*a*a*ab", "*a*a*a*a*a*a*a*a*a*ab"];
    const started = performance.now();
    for (const glob of evil) expect(matchesGlob(id, glob)).toBe(false);
    const models = Array.from({ length: 20 }, (_, i) => ({ id: `${"a".repeat(58)}${i}`.slice(0, 60) }));
    const shaped = applyModelSettings(models, {
      allow: [],
      deny: evil,
      rules: evil.map((match) => ({ match, name: "never" })),
    });
    const elapsed = performance.now() - started;
    expect(Object.keys(shaped)).toHaveLength(models.length);
    expect(Object.values(shaped).every((m) => m.name !== "never")).toBe(true);
    // The regex matcher needed 5.4 s for the first glob alone.
    expect(elapsed).toBeLessThan(250);
  });

  it("matches exactly what the regex translation matches (2,000 generated cases)", () => {
    const next = random(42);
    const pick = (chars: string, max: number) =>
      Array.from(
        { length: Math.floor(next() * (max + 1)) },
        () => chars[Math.floor(next() * chars.length)],
      ).join("");
    const mismatches: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const id = pick("ab/", 8);
      const glob = pick("ab/*?", 6);
      if (matchesGlob(id, glob) !== referenceMatch(id, glob))
        mismatches.push(`${JSON.stringify(glob)} vs ${JSON.stringify(id)}`);
    }
    expect(mismatches).toEqual([]);
  });

  it("treats every character but * and ? literally", () => {
    expect(matchesGlob("gpt-4.1", "gpt-4.1")).toBe(true);
    expect(matchesGlob("gpt-401", "gpt-4.1")).toBe(false);
    expect(matchesGlob("a+b", "a+b")).toBe(true);
    expect(matchesGlob("aab", "a+b")).toBe(false);
    expect(matchesGlob("", "*")).toBe(true);
    expect(matchesGlob("x", "")).toBe(false);
    expect(matchesGlob("abc", "a**c")).toBe(true);
  });
});
