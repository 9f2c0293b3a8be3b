/**
 * 4. OpenCode's startup with the plugin: `opencode models haiiloAi` (real OpenCode binary, hermetic
 * homes from test/e2e/support) in three variants, interleaved run by run:
 *   A  plugin, logged in with the CLI, fresh model cache (the everyday case)
 *   B  no plugin: the same provider and model ids written by hand in opencode.json (the baseline)
 *   C  plugin, logged in, no model cache, gateway accepting TCP but never answering (worst case)
 *   D  like B plus a do-nothing plugin: what OpenCode itself spends on hosting any plugin, so that
 *      A − D is this plugin's own share and D − B OpenCode's
 * Goals: median(A)/median(B) ≤ 1.10; median(C) − median(B) ≤ discovery timeout (1.5 s) + 10 %.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { startSandbox } from "../src/sandbox/sandbox.js";
import {
  makeHome,
  OPENCODE_VERSION,
  type OpencodeHome,
  stripAnsi,
  writeConfig,
} from "../test/e2e/support/opencode.js";
import { startBlackHole } from "./support/black-hole.js";
import type { PrivateBuild } from "./support/build.js";
import { onCleanup } from "./support/cleanup.js";
import { cliLogin, TMP_PREFIX } from "./support/fixtures.js";
import { type BenchResult, fmt, log, type Row } from "./support/report.js";
import { median, p95, round, summary } from "./support/stats.js";
import { type Phases, phases, runTimed, type TimedRun } from "./support/timed-opencode.js";

const PROVIDER = "haiiloAi";
const DISCOVERY_TIMEOUT_MS = 1500;

interface Sample {
  variant: "A" | "B" | "C" | "D";
  ms: number;
  cpuMs: number;
  phases?: Phases;
  code: number | null;
  models: number;
  timedOut: boolean;
}

const listed = (r: TimedRun) =>
  stripAnsi(r.stdout)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`${PROVIDER}/`));

async function home(env: Record<string, string>): Promise<OpencodeHome> {
  const h = await makeHome({ prefix: `${TMP_PREFIX}oc-`, env: { ...env, OPENCODE_OIDC_NO_BROWSER: "1" } });
  onCleanup(`opencode home ${h.dir}`, () => h.cleanup());
  return h;
}

const modelCacheDir = (h: OpencodeHome) => join(h.env.XDG_CACHE_HOME as string, "opencode-oidc");

export async function benchOpencode(opts: { build: PrivateBuild; runs: number }): Promise<BenchResult> {
  const started = performance.now();
  const box = await startSandbox();
  onCleanup("sandbox", () => box.close());
  const hole = await startBlackHole();
  const plugin = { plugin: [opts.build.indexUrl] };

  // A: plugin, CLI login, cache warmed by a first run.
  const a = await home(box.env);
  await writeConfig(a, plugin);
  await cliLogin(opts.build.cli, a.env, a.projectDir);
  const warmup = await runTimed(["models", PROVIDER], a);
  const ids = listed(warmup).map((l) => l.slice(PROVIDER.length + 1));
  const cacheFiles = existsSync(modelCacheDir(a)) ? readdirSync(modelCacheDir(a)) : [];
  if (ids.length === 0 || cacheFiles.length === 0)
    throw new Error(`warm-up printed no models or wrote no cache:\n${warmup.stdout}\n${warmup.stderr}`);

  // B: no plugin; the same provider defined by hand. D: the same plus a do-nothing plugin.
  const b = await home(box.env);
  const byHand = {
    provider: {
      [PROVIDER]: {
        npm: "@ai-sdk/openai-compatible",
        name: "Haiilo AI (gke)",
        options: { baseURL: box.gateway.url },
        models: Object.fromEntries(ids.map((id) => [id, { name: id }])),
      },
    },
  };
  await writeConfig(b, byHand);
  const noop = join(opts.build.dir, "noop-plugin.js");
  writeFileSync(noop, 'export default { id: "bench-noop", server: async () => ({}) };\n');
  const d = await home(box.env);
  await writeConfig(d, { ...byHand, plugin: [pathToFileURL(noop).href] });

  // C: plugin, login bound to the black hole's URL, cache removed before every run.
  const holeEnv = { ...box.env, HAIILO_AI_BASE_URL: hole.url };
  const c = await home(holeEnv);
  await writeConfig(c, plugin);
  await cliLogin(opts.build.cli, c.env, c.projectDir);

  const homes = { A: a, B: b, C: c, D: d } as const;
  const once = async (variant: Sample["variant"]): Promise<Sample> => {
    if (variant === "C") rmSync(modelCacheDir(c), { recursive: true, force: true });
    const r = await runTimed(["models", PROVIDER], homes[variant]);
    return {
      variant,
      ms: r.ms,
      cpuMs: r.cpuMs,
      phases: phases(r, join(homes[variant].logDir, "opencode.log")),
      code: r.code,
      models: listed(r).length,
      timedOut: r.timedOut,
    };
  };
  await once("B"); // warm-ups (page cache, binary), not counted
  await once("C");
  await once("D");
  const samples: Sample[] = [];
  const order: Sample["variant"][] = ["A", "B", "C", "D"];
  for (let i = 0; i < opts.runs; i++) {
    for (let k = 0; k < order.length; k++) samples.push(await once(order[(i + k) % order.length]!));
    log(
      `  [4] run ${i + 1}/${opts.runs}: ${samples
        .slice(-order.length)
        .map((s) => `${s.variant} ${s.ms} ms (cpu ${s.cpuMs})`)
        .join(", ")}`,
    );
  }

  const ms = (v: Sample["variant"]) => samples.filter((s) => s.variant === v).map((s) => s.ms);
  const cpu = (v: Sample["variant"]) => samples.filter((s) => s.variant === v).map((s) => s.cpuMs);
  const cpuRatio = median(cpu("A")) / median(cpu("B"));
  const phase = (v: Sample["variant"], k: keyof Phases) =>
    samples.filter((s) => s.variant === v && s.phases).map((s) => (s.phases as Phases)[k]);
  const phaseMedians = (v: Sample["variant"]) =>
    Object.fromEntries(
      (["startMs", "configMs", "pluginsMs", "restMs"] as const).map((k) => [
        k,
        round(median(phase(v, k)), 0),
      ]),
    ) as Record<keyof Phases, number>;
  const [pA, pB, pC, pD] = [phaseMedians("A"), phaseMedians("B"), phaseMedians("C"), phaseMedians("D")];
  // Paired by round (the three variants of a round ran back to back): less drift than whole medians.
  const paired = (v: Sample["variant"]) =>
    median(
      Array.from({ length: opts.runs }, (_, i) => {
        const round = samples.slice(i * order.length, (i + 1) * order.length);
        return (
          (round.find((s) => s.variant === v)?.ms ?? Number.NaN) -
          (round.find((s) => s.variant === "B")?.ms ?? Number.NaN)
        );
      }),
    );
  const pluginExtraC = pC.pluginsMs - pB.pluginsMs;
  const [mA, mB, mC] = [median(ms("A")), median(ms("B")), median(ms("C"))];
  const ratio = mA / mB;
  const extra = mC - mB;
  const budget = DISCOVERY_TIMEOUT_MS * 1.1;
  const models = (v: Sample["variant"]) => [
    ...new Set(samples.filter((s) => s.variant === v).map((s) => s.models)),
  ];
  const failed = samples.filter((s) => s.timedOut || (s.variant !== "C" && s.code !== 0));
  const rows: Row[] = [
    {
      bench: "4 opencode",
      metric: `A plugin, warm cache: opencode models (median / p95, ${opts.runs} runs)`,
      value: `${fmt.ms(mA, 0)} / ${fmt.ms(p95(ms("A")), 0)} (models ${models("A").join(",")})`,
    },
    {
      bench: "4 opencode",
      metric: "B no plugin, provider by hand (median / p95)",
      value: `${fmt.ms(mB, 0)} / ${fmt.ms(p95(ms("B")), 0)} (models ${models("B").join(",")})`,
    },
    {
      bench: "4 opencode",
      metric: "ratio of medians A / B",
      value: fmt.x(ratio),
      goal: "≤ 1.10",
      ok: ratio <= 1.1,
    },
    {
      bench: "4 opencode",
      metric: "CPU time (user+sys) A / B, medians (less load-sensitive)",
      value: `${fmt.ms(median(cpu("A")), 0)} / ${fmt.ms(median(cpu("B")), 0)} = ${fmt.x(cpuRatio)}`,
    },
    {
      bench: "4 opencode",
      metric: "D do-nothing plugin + provider by hand (median / p95); A / D",
      value: `${fmt.ms(median(ms("D")), 0)} / ${fmt.ms(p95(ms("D")), 0)}; ${fmt.x(mA / median(ms("D")))}`,
    },
    {
      bench: "4 opencode",
      metric: "C plugin, cold cache, gateway never answers (median / p95)",
      value: `${fmt.ms(mC, 0)} / ${fmt.ms(p95(ms("C")), 0)} (exit ${[...new Set(samples.filter((s) => s.variant === "C").map((s) => s.code))].join(",")}, models ${models("C").join(",")})`,
    },
    {
      bench: "4 opencode",
      metric: "C − B (extra wall time: of medians / median of per-round pairs)",
      value: `${fmt.ms(extra, 0)} / ${fmt.ms(paired("C"), 0)}`,
      goal: `≤ ${Math.round(budget)} ms`,
      ok: extra <= budget,
    },
    {
      bench: "4 opencode",
      metric:
        "phases from OpenCode's log, medians A | B | C | D: binary start, config, plugins+hooks, command+exit",
      value: [pA, pB, pC, pD].map((p) => `${p.startMs}/${p.configMs}/${p.pluginsMs}/${p.restMs}`).join(" | "),
    },
    {
      bench: "4 opencode",
      metric: "C − B in the plugins+hooks phase (config loaded → init)",
      value: `${fmt.ms(pluginExtraC, 0)} (A − B ${fmt.ms(pA.pluginsMs - pB.pluginsMs, 0)}; of which any plugin, D − B ${fmt.ms(pD.pluginsMs - pB.pluginsMs, 0)}; this plugin, A − D ${fmt.ms(pA.pluginsMs - pD.pluginsMs, 0)})`,
      goal: `≤ ${Math.round(budget)} ms`,
      ok: pluginExtraC <= budget,
    },
  ];
  if (failed.length > 0)
    rows.push({
      bench: "4 opencode",
      metric: "failed or timed-out runs",
      value: `${failed.length}`,
      ok: false,
    });
  return {
    id: "opencode",
    title: "OpenCode startup: opencode models",
    rows,
    data: {
      opencodeVersion: OPENCODE_VERSION,
      runsPerVariant: opts.runs,
      modelIds: ids,
      blackHoleConnections: hole.connections(),
      ratioOfMedians: round(ratio, 4),
      cpuRatioOfMedians: round(cpuRatio, 4),
      cpuMs: { A: summary(cpu("A")), B: summary(cpu("B")), C: summary(cpu("C")), D: summary(cpu("D")) },
      extraColdMs: round(extra, 1),
      budgetMs: budget,
      pairedExtraMs: { A: round(paired("A"), 0), C: round(paired("C"), 0), D: round(paired("D"), 0) },
      phasesMedianMs: { A: pA, B: pB, C: pC, D: pD },
      A: summary(ms("A")),
      B: summary(ms("B")),
      C: summary(ms("C")),
      D: summary(ms("D")),
      samples,
    },
    ms: performance.now() - started,
  };
}
