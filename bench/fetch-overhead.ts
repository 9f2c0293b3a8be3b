/**
 * 1. Per-request cost of the plugin's fetch: `providerFetch` with a logged-in Tenant whose
 * session holds a fresh token, against a bare `fetch` to the same loopback server (1 KB JSON answer,
 * server in its own process). Variants are measured side by side in alternating rounds with mitata.
 * The token store is spied on to prove the request path answers from memory (0 store reads).
 */
import { measure } from "mitata";
import type { FetchLike } from "../src/core/ports.js";
import { STORE_MARKER } from "../src/opencode/auth-file.js";
import { providerFetch } from "../src/opencode/provider-fetch.js";
import type { FileTokenStore } from "../src/store/token-store.js";
import { resolveTenants } from "../src/tenant/resolve-tenants.js";
import { Tenant } from "../src/tenant/tenant.js";
import { benchIdp, child, deviceLogin, presetEnv, tempHome } from "./support/fixtures.js";
import { type BenchResult, fmt, log, type Row } from "./support/report.js";
import { median, p95, round, summary } from "./support/stats.js";

const ECHO = new URL("./support/echo-server.mjs", import.meta.url).pathname;

type StoreCounts = { read: number; transact: number; readAll: number; getApiKey: number };

/** Counts every call of the store's public methods (all token-store I/O goes through them). */
function spyStore(store: FileTokenStore): StoreCounts {
  const counts: StoreCounts = { read: 0, transact: 0, readAll: 0, getApiKey: 0 };
  const target = store as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of Object.keys(counts) as (keyof StoreCounts)[]) {
    const original = target[name]!.bind(store);
    target[name] = (...args: unknown[]) => {
      counts[name] += 1;
      return original(...args);
    };
  }
  return counts;
}

const total = (c: StoreCounts) => c.read + c.transact + c.readAll + c.getApiKey;

interface Variant {
  name: string;
  fetch: FetchLike;
  counts?: StoreCounts;
  samples: number[];
  calls: number;
  storeOps: number;
}

/**
 * Request by request, the variants take turns (rotating order), so a load spike on this shared
 * machine hits all of them alike; samples in ns. Bounded by a count and a time budget.
 */
async function interleaved(
  variants: Variant[],
  call: (f: FetchLike) => Promise<unknown>,
  iterations: number,
  budgetMs: number,
): Promise<number[]> {
  for (const v of variants) for (let i = 0; i < 100; i++) await call(v.fetch); // warm-up (JIT, sockets)
  const ratios: number[] = []; // per iteration: variant 1 / variant 0
  const deadline = performance.now() + budgetMs;
  for (let i = 0; i < iterations && performance.now() < deadline; i++) {
    const times: number[] = [];
    for (let k = 0; k < variants.length; k++) {
      const index = (i + k) % variants.length;
      const v = variants[index]!;
      const before = v.counts ? total(v.counts) : 0;
      const t0 = performance.now();
      await call(v.fetch);
      times[index] = (performance.now() - t0) * 1e6;
      v.calls += 1;
      v.storeOps += v.counts ? total(v.counts) - before : 0;
      v.samples.push(times[index] as number);
    }
    ratios.push((times[1] as number) / (times[0] as number));
  }
  return ratios;
}

/** Alternating rounds (rotating order) of mitata measurements; samples pooled per variant (ns). */
async function sideBySide(
  variants: Variant[],
  call: (f: FetchLike) => Promise<unknown>,
  rounds: number,
  cpuMsPerRound: number,
): Promise<void> {
  for (const v of variants) for (let i = 0; i < 50; i++) await call(v.fetch); // warm-up (JIT, sockets)
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      const before = v.counts ? total(v.counts) : 0;
      const stats = await measure(
        async () => {
          v.calls += 1;
          await call(v.fetch);
        },
        // gc: false (mitata's fallback "gc" allocates 1 GiB); small batches for the sub-65 µs stub calls.
        {
          gc: false,
          min_cpu_time: cpuMsPerRound * 1e6,
          max_samples: 20_000,
          min_samples: 20,
          batch_samples: 128,
          batch_unroll: 1,
        },
      );
      v.storeOps += v.counts ? total(v.counts) - before : 0;
      v.samples.push(...stats.samples);
    }
  }
}

export async function benchFetchOverhead(opts: { rounds: number; requests: number }): Promise<BenchResult> {
  const started = performance.now();
  const home = tempHome("fetch");
  const idp = await benchIdp();
  const echo = child(process.execPath, [ECHO], { PATH: process.env.PATH }, home.dir);
  const [, port] = await echo.waitFor(/port (\d+)/, "stdout");
  const baseURL = `http://127.0.0.1:${port}/v1`;
  const url = `${baseURL}/chat/completions`;
  const env = { ...home.env, ...presetEnv(idp, baseURL), OPENCODE_OIDC_NO_BROWSER: "1" };

  const { primary: rt } = await resolveTenants({ cwd: home.projectDir }, { env });
  if (!rt) throw new Error("no preset resolved");
  await rt.session().save(await deviceLogin(rt.requireOidc()));
  const counts = spyStore(rt.store);

  // What the AI SDK sends: its own Authorization header (the marker as API key), which the plugin replaces.
  const init = (): RequestInit => ({
    method: "POST",
    headers: { authorization: `Bearer ${STORE_MARKER}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "bench", messages: [{ role: "user", content: "hi" }] }),
  });
  const viaNetwork = async (f: FetchLike) => {
    const response = await f(url, init());
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    await response.arrayBuffer();
  };

  // The plugin's fetch as the config hook builds it after a CLI or OpenCode device login (auth.json
  // says "oauth"), and the "auto" kind used while auth.json has no record for the provider.
  const oauthFetch = providerFetch(rt, "oauth");
  const autoFetch = providerFetch(rt, "auto");
  const network: Variant[] = [
    { name: "bare fetch", fetch: (i, n) => fetch(i, n), samples: [], calls: 0, storeOps: 0 },
    { name: "providerFetch oauth", fetch: oauthFetch, counts, samples: [], calls: 0, storeOps: 0 },
    { name: "providerFetch auto", fetch: autoFetch, counts, samples: [], calls: 0, storeOps: 0 },
  ];
  const refreshBefore = rt.session().refreshCalls;
  log(`  [1] network: up to ${opts.requests} interleaved requests per variant`);
  const pairRatios = await interleaved(network, viaNetwork, opts.requests, 20_000);
  // The echo server counts requests that carried a JWT bearer (the plugin replaced the SDK's header).
  echo.child.stdin.write("stats\n");
  const [, statsJson] = await echo.waitFor(/stats (\{.*\})/, "stdout");
  const served = JSON.parse(statsJson ?? "{}") as { requests: number; withBearer: number };

  // The same without a network: the plugin's own work per request (credential, header rewrite).
  const stub: FetchLike = async () => new Response(null, { status: 200 });
  const rtStub = new Tenant(rt.resolved, { env, fetch: stub });
  await rtStub.session().getAccessToken(); // loads the stored token into memory (one store read)
  const stubCounts = spyStore(rtStub.store);
  const local: Variant[] = [
    { name: "stub fetch", fetch: stub, samples: [], calls: 0, storeOps: 0 },
    {
      name: "providerFetch oauth (stub)",
      fetch: providerFetch(rtStub, "oauth"),
      counts: stubCounts,
      samples: [],
      calls: 0,
      storeOps: 0,
    },
    {
      name: "providerFetch auto (stub)",
      fetch: providerFetch(rtStub, "auto"),
      counts: stubCounts,
      samples: [],
      calls: 0,
      storeOps: 0,
    },
  ];
  log(`  [1] in-process (mitata): ${opts.rounds} alternating rounds of 3 variants (stub transport)`);
  await sideBySide(local, async (f) => (await f(url, init())).body?.cancel(), opts.rounds, 200);

  const [bare, oauth, auto] = network as [Variant, Variant, Variant];
  const [stubV, oauthStub, autoStub] = local as [Variant, Variant, Variant];
  const ratio = median(oauth.samples) / median(bare.samples);
  const ratioAuto = median(auto.samples) / median(bare.samples);
  const usMedian = (v: Variant) => median(v.samples) / 1e3;
  const usP95 = (v: Variant) => p95(v.samples) / 1e3;
  const refreshes = rt.session().refreshCalls - refreshBefore;

  const rows: Row[] = [
    {
      bench: "1 fetch",
      metric: "bare fetch, per request (median / p95)",
      value: `${fmt.us(usMedian(bare))} / ${fmt.us(usP95(bare))}`,
    },
    {
      bench: "1 fetch",
      metric: "providerFetch (oauth, in-memory token) (median / p95)",
      value: `${fmt.us(usMedian(oauth))} / ${fmt.us(usP95(oauth))}`,
    },
    {
      bench: "1 fetch",
      metric: "ratio of medians providerFetch / bare (p95 ratio; median of paired ratios)",
      value: `${fmt.x(ratio)} (${fmt.x(p95(oauth.samples) / p95(bare.samples))}; ${fmt.x(median(pairRatios))})`,
      goal: "≤ 1.05",
      ok: ratio <= 1.05,
    },
    {
      bench: "1 fetch",
      metric: "token-store calls during the oauth runs",
      value: `${oauth.storeOps} in ${oauth.calls} requests (refresh grants ${refreshes})`,
      goal: "0",
      ok: oauth.storeOps === 0,
    },
    {
      bench: "1 fetch",
      metric: "plugin's own work per request, stub transport (oauth)",
      value: `+${fmt.us(usMedian(oauthStub) - usMedian(stubV), 2)} (${fmt.us(usMedian(oauthStub), 2)} vs ${fmt.us(usMedian(stubV), 2)})`,
    },
    {
      bench: "1 fetch",
      metric: "providerFetch auto (extra presets): ratio / store calls",
      value: `${fmt.x(ratioAuto)} / ${auto.storeOps} in ${auto.calls} requests`,
    },
    {
      bench: "1 fetch",
      metric: "auto kind's own work per request, stub transport",
      value: `+${fmt.us(usMedian(autoStub) - usMedian(stubV), 2)} (${autoStub.storeOps} store reads in ${autoStub.calls} calls)`,
    },
  ];
  const describe = (v: Variant) => ({
    calls: v.calls,
    storeOps: v.storeOps,
    ns: { ...summary(v.samples) },
  });
  return {
    id: "fetch",
    title: "Per-request cost of the plugin's fetch",
    rows,
    data: {
      url,
      bodyBytes: 1024,
      rounds: opts.rounds,
      requestsPerVariant: bare.calls,
      medianPairedRatio: round(median(pairRatios), 4),
      served,
      refreshGrantsDuringBench: refreshes,
      storeCallsByMethod: counts,
      ratioOfMedians: round(ratio, 4),
      ratioOfP95: round(p95(oauth.samples) / p95(bare.samples), 4),
      ratioAutoOfMedians: round(ratioAuto, 4),
      network: Object.fromEntries(network.map((v) => [v.name, describe(v)])),
      stub: Object.fromEntries(local.map((v) => [v.name, describe(v)])),
    },
    ms: performance.now() - started,
  };
}
