/**
 * 5. What the plugin costs OpenCode before it does anything:
 *  - importing the plugin entry (the tsup build, like dist/index.js) in a fresh `node` vs an empty
 *    module, and its dependencies one by one (each in its own fresh process);
 *  - the one-file drop-in bundle (scripts/dev.mjs settings): bytes, gzip bytes, what fills it
 *    (esbuild metafile), and its import time;
 *  - server() + config hook (+ auth loader) in process, logged in, with a fresh model cache.
 */
import { execFile } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build as esbuild, type Metafile } from "esbuild";
import { devBundleOptions } from "../scripts/dev-bundle.mjs";
import { startSandbox } from "../src/sandbox/sandbox.js";
import { listModels } from "../src/tenant/model-listing.js";
import { resolveTenants } from "../src/tenant/resolve-tenants.js";
import { type PrivateBuild, ROOT } from "./support/build.js";
import { onCleanup } from "./support/cleanup.js";
import { deviceLogin, tempHome } from "./support/fixtures.js";
import { type BenchResult, fmt, log, type Row } from "./support/report.js";
import { median, p95, round, summary } from "./support/stats.js";

const run = promisify(execFile);
const PROBE = fileURLToPath(new URL("./support/import-probe.mjs", import.meta.url));
const CHAIN = fileURLToPath(new URL("./support/import-chain.mjs", import.meta.url));
const HOOKS = fileURLToPath(new URL("./support/hooks-probe.mjs", import.meta.url));

interface Target {
  name: string;
  specifier: string;
  importMs: number[];
  wallMs: number[];
}

async function probe(t: Target): Promise<void> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [PROBE, t.specifier], { cwd: ROOT, timeout: 30_000 });
  t.wallMs.push(performance.now() - started);
  t.importMs.push((JSON.parse(stdout) as { importMs: number }).importMs);
}

/** The package (or src folder) an input of the bundle belongs to. */
function owner(path: string): string {
  const at = path.lastIndexOf("node_modules/");
  if (at >= 0) {
    const [scope = "", name = ""] = path.slice(at + "node_modules/".length).split("/");
    return scope.startsWith("@") ? `${scope}/${name}` : scope;
  }
  if (path.includes("src/presets/generated/")) return "src/presets/generated (validators)";
  if (path.startsWith("presets/") || path.includes("/presets/haiilo.json")) return "presets/*.json";
  const m = /src\/([^/]+)\//.exec(path);
  return m ? `src/${m[1]}` : path;
}

/** Static import closure of an ESM file from the tsup build: own bytes and external packages. */
function closure(entry: string): { files: number; bytes: number; packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith("./")) visit(join(dirname(file), spec));
      else if (
        !spec.startsWith("node:") &&
        !/^(fs|path|os|crypto|util|timers\/promises|url|events|child_process|module)$/.test(spec)
      )
        packages.add(spec);
    }
  };
  visit(entry);
  return {
    files: seen.size,
    bytes: [...seen].reduce((n, f) => n + statSync(f).size, 0),
    packages: [...packages].sort(),
  };
}

export async function benchImportCost(opts: { build: PrivateBuild; runs: number }): Promise<BenchResult> {
  const started = performance.now();

  // The drop-in bundle exactly as scripts/dev.mjs builds it (into the private build folder, so the
  // external `typescript` would resolve as it does next to the project; never into a user config).
  const bundleFile = join(opts.build.dir, "haiilo-ai-dev.js");
  const result = await esbuild({
    ...devBundleOptions(ROOT, bundleFile),
    logLevel: "silent",
    metafile: true,
  });
  const bundle = readFileSync(bundleFile);
  const gzipBytes = gzipSync(bundle).length;
  const meta = result.metafile as Metafile;
  const inputs = Object.values(meta.outputs)[0]?.inputs ?? {};
  const byOwner = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(inputs))
    byOwner.set(owner(path), (byOwner.get(owner(path)) ?? 0) + bytesInOutput);
  const topOwners = [...byOwner].sort((a, b) => b[1] - a[1]);
  const topFiles = Object.entries(inputs)
    .map(([path, { bytesInOutput }]) => [path, bytesInOutput] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15);
  const tsupClosure = closure(opts.build.index);

  // Fresh-process imports, round-robin so load spikes hit every target alike.
  const empty = join(opts.build.dir, "empty.mjs");
  writeFileSync(empty, "export default {};\n");
  const validators = pathToFileURL(join(ROOT, "src/presets/generated/validators.js")).href;
  const targets: Target[] = [
    ["empty module", pathToFileURL(empty).href],
    ["plugin entry (tsup build = dist/index.js)", opts.build.indexUrl],
    ["drop-in bundle (scripts/dev.mjs)", pathToFileURL(bundleFile).href],
    ["cosmiconfig", "cosmiconfig"],
    ["oauth4webapi", "oauth4webapi"],
    ["generated validators (+ ajv runtime)", validators],
    ["proper-lockfile", "proper-lockfile"],
    ["write-file-atomic", "write-file-atomic"],
    ["env-paths", "env-paths"],
  ].map(([name, specifier]) => ({
    name: name as string,
    specifier: specifier as string,
    importMs: [],
    wallMs: [],
  }));
  for (const t of targets) await probe(t); // warm-up: page cache
  for (const t of targets) {
    t.importMs.length = 0;
    t.wallMs.length = 0;
  }
  for (let i = 0; i < opts.runs; i++)
    for (let k = 0; k < targets.length; k++) await probe(targets[(i + k) % targets.length]!);
  log(`  [5] ${opts.runs} fresh-process imports of ${targets.length} targets`);

  // Decomposition that adds up: the plugin's packages first, then the entry (its own code, with the
  // generated validators inlined), each step timed on top of the previous ones, in one process.
  const chain = ["oauth4webapi", "env-paths", "write-file-atomic", "proper-lockfile", "cosmiconfig"];
  const chainSteps: number[][] = [];
  for (let i = 0; i < opts.runs; i++) {
    const { stdout } = await run(process.execPath, [CHAIN, ...chain, opts.build.indexUrl], {
      cwd: ROOT,
      timeout: 30_000,
    });
    chainSteps.push(JSON.parse(stdout) as number[]);
  }
  const chainNames = [...chain, "plugin entry's own code (incl. validators)"];
  const chainMedians = chainNames.map((_, k) => median(chainSteps.map((s) => s[k] as number)));

  // server() + config + loader, logged in with a fresh model cache, in fresh processes.
  const box = await startSandbox();
  onCleanup("sandbox (hooks)", () => box.close());
  const home = tempHome("hooks");
  const env = { ...home.env, ...box.env, OPENCODE_OIDC_NO_BROWSER: "1" };
  const { primary: rt } = await resolveTenants({ cwd: home.projectDir }, { env });
  if (!rt) throw new Error("no preset resolved");
  await rt.session().save(await deviceLogin(rt.requireOidc()));
  const warmed = await listModels(rt);
  if (warmed.source !== "gateway") throw new Error(`could not warm the model cache: ${warmed.problem}`);
  const gatewayBefore = box.gateway.requests.length;
  interface HooksOut {
    first: {
      importMs: number;
      serverMs: number;
      configMs: number;
      loaderMs: number;
      models: number;
      startMs: number;
    };
    warm: { serverMs: number[]; configMs: number[]; resolveMs: number[] };
  }
  const hooks: HooksOut[] = [];
  const hookRuns = Math.max(3, Math.ceil(opts.runs / 2));
  for (let i = 0; i < hookRuns; i++) {
    const { stdout } = await run(
      process.execPath,
      [HOOKS, opts.build.indexUrl, opts.build.engineUrl, home.projectDir, "20"],
      { cwd: home.projectDir, env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
    );
    hooks.push(JSON.parse(stdout) as HooksOut);
  }
  const gatewayCalls = box.gateway.requests.length - gatewayBefore;
  log(`  [5] ${hookRuns} hook probes`);

  const get = (name: string) => targets.find((t) => t.name === name)!;
  const plugin = get("plugin entry (tsup build = dist/index.js)");
  const emptyT = get("empty module");
  const dev = get("drop-in bundle (scripts/dev.mjs)");
  const wallRatio = median(plugin.wallMs) / median(emptyT.wallMs);
  const first = (k: keyof HooksOut["first"]) => median(hooks.map((h) => h.first[k]));
  const warm = (k: keyof HooksOut["warm"]) => median(hooks.flatMap((h) => h.warm[k]));
  const models = [...new Set(hooks.map((h) => h.first.models))];

  const deps = targets.slice(3);
  const rows: Row[] = [
    {
      bench: "5 import",
      metric: "import plugin entry in fresh node (median / p95)",
      value: `${fmt.ms(median(plugin.importMs))} / ${fmt.ms(p95(plugin.importMs))} (empty module ${fmt.ms(median(emptyT.importMs), 2)})`,
    },
    {
      bench: "5 import",
      metric: "process wall, node + import: plugin / empty (ratio of medians)",
      value: `${fmt.ms(median(plugin.wallMs))} / ${fmt.ms(median(emptyT.wallMs))} = ${fmt.x(wallRatio, 2)}`,
    },
    ...deps.map((t) => ({
      bench: "5 import",
      metric: `  import ${t.name} alone (median / p95)`,
      value: `${fmt.ms(median(t.importMs))} / ${fmt.ms(p95(t.importMs))}`,
    })),
    {
      bench: "5 import",
      metric: "one process, in order (each on top of the previous; medians)",
      value: chainNames.map((n, k) => `${n} ${fmt.ms(chainMedians[k] as number)}`).join(", "),
    },
    {
      bench: "5 import",
      metric: "import drop-in bundle (median / p95)",
      value: `${fmt.ms(median(dev.importMs))} / ${fmt.ms(p95(dev.importMs))}`,
    },
    {
      bench: "5 import",
      metric: "drop-in bundle size (bytes / gzip)",
      value: `${fmt.bytes(bundle.length)} / ${fmt.bytes(gzipBytes)}`,
    },
    {
      bench: "5 import",
      metric: "drop-in bundle top contributors",
      value: topOwners
        .slice(0, 10)
        .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)}K`)
        .join(", "),
    },
    {
      bench: "5 import",
      metric: "tsup plugin entry: static closure (files, bytes) + packages",
      value: `${tsupClosure.files} files, ${fmt.bytes(tsupClosure.bytes)}; ${tsupClosure.packages.join(", ")}`,
    },
    {
      bench: "5 import",
      metric: "in-process, first call: import / server() / config / loader",
      value: `${fmt.ms(first("importMs"))} / ${fmt.ms(first("serverMs"))} / ${fmt.ms(first("configMs"))} / ${fmt.ms(first("loaderMs"), 2)}`,
    },
    {
      bench: "5 import",
      metric: "in-process, warm repeat: server() (of which preset resolution) / config",
      value: `${fmt.ms(warm("serverMs"), 2)} (${fmt.ms(warm("resolveMs"), 2)}) / ${fmt.ms(warm("configMs"), 2)}`,
    },
    {
      bench: "5 import",
      metric: "plugin's share of startup (import + server + config, first call)",
      value: `${fmt.ms(first("importMs") + first("serverMs") + first("configMs"))}; models injected ${models.join(",")}; gateway calls ${gatewayCalls}`,
      goal: "cache answers (0 gateway calls)",
      ok: gatewayCalls === 0 && models.every((m) => m > 0),
    },
  ];
  return {
    id: "import",
    title: "Import cost, bundle size, plugin hooks",
    rows,
    data: {
      runs: opts.runs,
      imports: Object.fromEntries(
        targets.map((t) => [
          t.name,
          {
            specifier: t.specifier.replace(ROOT, "<root>/"),
            importMs: summary(t.importMs),
            wallMs: summary(t.wallMs),
          },
        ]),
      ),
      wallRatioPluginOverEmpty: round(wallRatio, 3),
      chain: Object.fromEntries(
        chainNames.map((n, k) => [n, summary(chainSteps.map((s) => s[k] as number))]),
      ),
      bundle: {
        bytes: bundle.length,
        gzipBytes,
        inputs: Object.keys(inputs).length,
        byPackage: Object.fromEntries(topOwners),
        topFiles: Object.fromEntries(topFiles),
      },
      tsupPluginClosure: tsupClosure,
      hooks: {
        probes: hookRuns,
        gatewayCallsDuringProbes: gatewayCalls,
        first: {
          importMs: summary(hooks.map((h) => h.first.importMs)),
          serverMs: summary(hooks.map((h) => h.first.serverMs)),
          configMs: summary(hooks.map((h) => h.first.configMs)),
          loaderMs: summary(hooks.map((h) => h.first.loaderMs)),
        },
        warm: {
          serverMs: summary(hooks.flatMap((h) => h.warm.serverMs)),
          configMs: summary(hooks.flatMap((h) => h.warm.configMs)),
          resolveMs: summary(hooks.flatMap((h) => h.warm.resolveMs)),
        },
      },
    },
    ms: performance.now() - started,
  };
}
