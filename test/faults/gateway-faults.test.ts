/**
 * Faults at the gateway's model list: down, slow (longer than the discovery timeout), HTTP 500,
 * malformed JSON, an oversized body. What the user sees (listModels, used by OpenCode's config hook
 * and `opencode-oidc models`): an answer within the timeout, from the last good cache when there is
 * one, else the preset's static list, else nothing — always with a one-line `problem` — and the cache
 * is never overwritten by a bad answer.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { Config } from "@opencode-ai/plugin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/core/errors.js";
import { injectProviders } from "../../src/opencode/config-hook.js";
import { PLACEHOLDER_MODEL_ID } from "../../src/opencode/placeholder.js";
import type { GatewayFault } from "../../src/sandbox/gateway.js";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { ModelCache } from "../../src/store/model-cache.js";
import { listModels } from "../../src/tenant/model-listing.js";
import type { Tenant } from "../../src/tenant/tenant.js";
import { quickLogin, recordingFetch, type TempHome, tempHome } from "../support/engine-fixtures.js";
import { discoveryOptions, sandboxRuntime, timed, within } from "../support/faults-fixtures.js";

const TIMEOUT_MS = 500;
/** Slack for the answer beyond the discovery timeout (process scheduling, parallel test files). */
const SLACK_MS = 1_000;
const STATIC = [{ id: "static-model" }];

let box: Sandbox;
let home: TempHome;
/** With a static list in the preset, and without one. */
let withStatic: Tenant;
let noStatic: Tenant;
/** Every request the two tenants send (IdP and gateway). */
let sent: ReturnType<typeof recordingFetch>;

const cacheOf = (rt: Tenant) => new ModelCache(rt.paths.cacheDir, rt.preset.id, rt.preset.provider.baseURL);

/** Requests for the gateway's model list among those recorded. */
const modelListRequests = (recorded: ReturnType<typeof recordingFetch>) =>
  recorded.requests.filter((r) => r.url.endsWith("/models")).length;

async function loggedInRuntimes(sandbox: Sandbox, folder: TempHome) {
  const fetch = recordingFetch();
  const a = await sandboxRuntime(sandbox, folder, {
    pluginOptions: discoveryOptions({ timeoutMs: TIMEOUT_MS, static: STATIC }),
    runtime: { fetch },
  });
  const b = await sandboxRuntime(sandbox, folder, {
    pluginOptions: discoveryOptions({ timeoutMs: TIMEOUT_MS }),
    runtime: { fetch },
  });
  await a.session().save(await quickLogin(sandbox.idp));
  return { a, b, fetch };
}

beforeAll(async () => {
  box = await startSandbox();
  home = tempHome();
  ({ a: withStatic, b: noStatic, fetch: sent } = await loggedInRuntimes(box, home));
});
afterAll(async () => {
  await box?.close();
  home?.cleanup();
});

/** A good list from the gateway, written to the cache; returns the cache file's bytes and mtime. */
async function goodCache(rt: Tenant, sandbox: Sandbox) {
  sandbox.gateway.setFault(null);
  const listing = await listModels(rt, { refresh: true });
  expect(listing.source).toBe("gateway");
  const file = cacheOf(rt).file;
  return { listing, bytes: readFileSync(file), mtimeMs: statSync(file).mtimeMs };
}

/** Every view of one fault: no cache (static / none), a cache (CLI --refresh), a stale cache (OpenCode start). */
async function checkFault(sandbox: Sandbox, apply: () => void | Promise<void>, problem: RegExp) {
  const [a, b, recorded] = sandbox === box ? [withStatic, noStatic, sent] : [faultA, faultB, faultSent];
  // Before the fault: a last good list exists. Keep it aside for the no-cache views.
  const good = await goodCache(a, sandbox);
  const cachedAt = JSON.parse(good.bytes.toString("utf8")).fetchedAt as number;
  const file = cacheOf(a).file;
  rmSync(file);
  await apply();

  // 1. No cache, a static list in the preset: the static list, within the timeout.
  const s = await timed(listModels(a));
  expect(s.value.source).toBe("static");
  expect(Object.keys(s.value.models)).toEqual(["static-model"]);
  expect(s.value.problem).toMatch(problem);
  expect(s.value.problem).not.toContain("\n");
  expect(s.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  expect(existsSync(file)).toBe(false);

  // 2. No cache, no static list: nothing, with the problem.
  const n = await timed(listModels(b));
  expect(n.value).toMatchObject({ source: "none", models: {} });
  expect(n.value.problem).toMatch(problem);
  expect(n.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  expect(existsSync(file)).toBe(false);

  // 3. A cache, and a forced refresh (`opencode-oidc models --refresh`): the cache, with the problem; file untouched.
  writeFileSync(file, good.bytes);
  const before = statSync(file).mtimeMs;
  const c = await timed(listModels(b, { refresh: true }));
  expect(c.value.source).toBe("cache");
  expect(c.value.models).toEqual(good.listing.models);
  expect(c.value.fetchedAt).toBe(cachedAt);
  expect(c.value.problem).toMatch(problem);
  expect(c.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  expect(readFileSync(file).equals(good.bytes)).toBe(true);
  expect(statSync(file).mtimeMs).toBe(before);

  // 4. A stale cache (OpenCode's startup): answered at once from the cache; the background refresh
  //    fails and leaves the cache as it was.
  const later = cachedAt + a.preset.discovery.cacheTtlSeconds * 1000 + 1_000;
  const asked = modelListRequests(recorded);
  const st = await timed(listModels(b, { now: later }));
  expect(st.value.source).toBe("cache");
  expect(st.value.models).toEqual(good.listing.models);
  expect(st.ms).toBeLessThan(200);
  await within(
    4 * TIMEOUT_MS + SLACK_MS,
    st.value.refreshing ?? Promise.reject(new Error("no background refresh was started")),
    "background refresh",
  );
  // The background refresh did ask the gateway (once), and its failure left the cache alone.
  expect(modelListRequests(recorded)).toBe(asked + 1);
  expect(readFileSync(file).equals(good.bytes)).toBe(true);
  expect(statSync(file).mtimeMs).toBe(before);
}

let faultBox: Sandbox | undefined;
let faultHome: TempHome | undefined;
let faultA: Tenant;
let faultB: Tenant;
let faultSent: ReturnType<typeof recordingFetch>;
afterAll(async () => {
  await faultBox?.close();
  faultHome?.cleanup();
});

describe("model discovery with the gateway in trouble", () => {
  it.each<[string, GatewayFault, RegExp]>([
    ["slow (answers after 5 s)", { delayMs: 5_000 }, /did not answer .*\/models in time/],
    ["answering 500", { status: 500 }, /answered HTTP 500 for .*\/models/],
    ["answering malformed JSON", { malformedJson: true }, /\/models is not valid JSON/],
    ["answering a 5 MiB body", { oversizedBytes: 5 * 1024 * 1024 }, /\/models is larger than 4194304 bytes/],
  ])(
    "gateway %s: static / none / last good cache within the timeout, cache not overwritten",
    async (_, fault, problem) => {
      await checkFault(box, () => box.gateway.setFault(fault), problem);
      box.gateway.setFault(null);
    },
  );

  it("gateway down (port closed): static / none / last good cache within the timeout, cache not overwritten", async () => {
    faultBox = await startSandbox();
    faultHome = tempHome();
    ({ a: faultA, b: faultB, fetch: faultSent } = await loggedInRuntimes(faultBox, faultHome));
    await checkFault(faultBox, () => faultBox?.gateway.close(), /cannot be reached at .*\/models/);
  });

  it("after the fault clears, a refresh replaces the cache with the gateway's list again", async () => {
    // A last good list from a minute ago, which the failing refresh must keep.
    const cache = cacheOf(noStatic);
    const old = Date.now() - 60_000;
    await cache.write([{ id: "old-model" }], old);
    box.gateway.setFault({ status: 500 });
    const failed = await listModels(noStatic, { refresh: true });
    expect(failed).toMatchObject({ source: "cache", fetchedAt: old });
    expect(failed.problem).toMatch(/HTTP 500/);
    expect(cache.read()?.fetchedAt).toBe(old);

    box.gateway.setFault(null);
    const fixed = await listModels(noStatic, { refresh: true });
    expect(fixed.source).toBe("gateway");
    expect(fixed.problem).toBeUndefined();
    const replaced = cache.read();
    expect(replaced?.fetchedAt).toBeGreaterThan(old);
    expect(replaced?.models.map((m) => m.id)).toContain("gpt-4o-mini");
    expect(replaced?.models.map((m) => m.id)).not.toContain("old-model");
  });

  it("OpenCode's config hook with the gateway answering 500 and no cache: only the placeholder entry, whose requests say why and stay here; one warning in the debug log", async () => {
    rmSync(cacheOf(noStatic).file, { force: true });
    box.gateway.setFault({ status: 500 });
    const logBefore = existsSync(home.logFile) ? readFileSync(home.logFile, "utf8").length : 0;
    const config: Config = {};
    await injectProviders(config, [noStatic]);
    const provider = config.provider?.[noStatic.preset.provider.id];
    // OpenCode drops a provider without models: the one entry stands in, and a message to it is
    // answered here (logged in, so: what the gateway said), never sent.
    expect(Object.keys(provider?.models ?? {})).toEqual([PLACEHOLDER_MODEL_ID]);
    const chatsBefore = box.gateway.requests.filter((r) => r.path.endsWith("/chat/completions")).length;
    const send = provider?.options?.fetch as typeof fetch;
    const answer = await send(`${box.gateway.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: PLACEHOLDER_MODEL_ID, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(answer.status).toBe(404);
    const body = (await answer.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe(ErrorCode.GATEWAY_UNAVAILABLE);
    expect(body.error.message).toMatch(
      /listed no models when OpenCode started \(The gateway answered HTTP 500/,
    );
    expect(box.gateway.requests.filter((r) => r.path.endsWith("/chat/completions"))).toHaveLength(
      chatsBefore,
    );
    const added = readFileSync(home.logFile, "utf8").slice(logBefore);
    const warnings = added.split("\n").filter((l) => / WARN model discovery failed: /.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/The gateway answered HTTP 500 for .*\/models\./);
    box.gateway.setFault(null);
  });

  it("OpenCode's config hook with the gateway answering 500 and a stale cache: the cached models are injected at once", async () => {
    const good = await goodCache(noStatic, box);
    box.gateway.setFault({ status: 500 });
    // A cache older than its TTL, as after a night: rewrite fetchedAt into the past.
    const cache = cacheOf(noStatic);
    const old = cache.read();
    if (!old) throw new Error("no cache");
    await cache.write(old.models, Date.now() - noStatic.preset.discovery.cacheTtlSeconds * 1000 - 1);
    const config: Config = {};
    const { ms } = await timed(injectProviders(config, [noStatic]));
    expect(ms).toBeLessThan(200);
    const provider = config.provider?.[noStatic.preset.provider.id];
    expect(provider?.options?.baseURL).toBe(box.gateway.url);
    expect(provider?.models).toEqual(good.listing.models);
    box.gateway.setFault(null);
  });
});
