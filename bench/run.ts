/**
 * The benchmark suite: `npm run bench` (builds dist/ first) or `npx tsx bench/run.ts`.
 *   --only 1,3     run only some benchmarks (1 fetch, 2 storm, 3 processes, 4 opencode, 5 import, 6 grants)
 *   --quick        fewer rounds/runs (a smoke test, not for reporting)
 * Prints a table and writes bench/results/<timestamp>.json. Everything it starts is torn down at the end.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { benchFetchOverhead } from "./fetch-overhead.js";
import { benchGrants } from "./grants.js";
import { benchImportCost } from "./import-cost.js";
import { benchMultiProcess } from "./multi-process.js";
import { benchOpencode } from "./opencode-startup.js";
import { benchRefreshStorm } from "./refresh-storm.js";
import { type PrivateBuild, privateBuild, ROOT } from "./support/build.js";
import { cleanupAll, liveChildren } from "./support/cleanup.js";
import { TMP_PREFIX } from "./support/fixtures.js";
import { type BenchResult, log, type Row } from "./support/report.js";

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag("quick");
const only = new Set((value("only") ?? "1,2,3,4,5,6").split(",").map((s) => s.trim()));

function table(rows: Row[]): string {
  const head = ["bench", "metric", "value", "goal", "ok"];
  const cells = rows.map((r) => [
    r.bench,
    r.metric,
    r.value,
    r.goal ?? "",
    r.ok === undefined ? "" : r.ok ? "yes" : "NO",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i] as number)).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)].join("\n");
}

function gitCommit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

function leftoverTempDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith(TMP_PREFIX));
}

async function main(): Promise<number> {
  const started = performance.now();
  const tempBefore = new Set(leftoverTempDirs());
  const results: BenchResult[] = [];
  const failures: Record<string, string> = {};
  let build: PrivateBuild | undefined;
  const needBuild = only.has("3") || only.has("4") || only.has("5") || only.has("6");
  try {
    if (needBuild) {
      log("private build (tsup, same settings as dist/)…");
      build = await privateBuild();
      log(`  done in ${Math.round(build.ms)} ms: ${build.dir}`);
    }
    const plan: Array<[string, string, () => Promise<BenchResult>]> = [
      [
        "1",
        "fetch overhead",
        () => benchFetchOverhead({ rounds: quick ? 2 : 6, requests: quick ? 500 : 4000 }),
      ],
      ["2", "refresh storm", () => benchRefreshStorm({ callers: 1000, rounds: quick ? 2 : 5 })],
      [
        "3",
        "4 processes",
        () => benchMultiProcess({ build: build!, processes: 4, callers: 250, rounds: quick ? 1 : 3 }),
      ],
      ["4", "opencode startup", () => benchOpencode({ build: build!, runs: quick ? 2 : 7 })],
      ["5", "import cost", () => benchImportCost({ build: build!, runs: quick ? 3 : 11 })],
      [
        "6",
        "login grants",
        () => benchGrants({ build: build!, logins: quick ? 3 : 21, runs: quick ? 2 : 5 }),
      ],
    ];
    for (const [id, name, run] of plan) {
      if (!only.has(id)) continue;
      log(`[${id}] ${name}…`);
      try {
        const result = await run();
        results.push(result);
        log(`[${id}] done in ${(result.ms / 1000).toFixed(1)} s`);
      } catch (error) {
        failures[id] = (error as Error).stack ?? String(error);
        log(`[${id}] FAILED: ${failures[id]}`);
      }
    }
  } finally {
    const problems = await cleanupAll();
    for (const p of problems) log(`cleanup: ${p}`);
  }

  const rows = results.flatMap((r) => r.rows);
  const leftover = leftoverTempDirs().filter((d) => !tempBefore.has(d));
  const totalMs = performance.now() - started;
  process.stdout.write(`\n${table(rows)}\n\n`);
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const file = join(dir, `${stamp}.json`);
  const report = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadavgAtEnd: loadavg(),
    quick,
    totalSeconds: Math.round(totalMs / 100) / 10,
    rows,
    failures,
    cleanup: { liveChildren: liveChildren(), leftoverTempDirs: leftover },
    results: Object.fromEntries(
      results.map((r) => [r.id, { title: r.title, ms: Math.round(r.ms), ...r.data }]),
    ),
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`results: ${file}\n`);
  process.stdout.write(
    `total ${report.totalSeconds} s; live children ${liveChildren()}; leftover temp dirs ${leftover.length}\n`,
  );
  return Object.keys(failures).length > 0 ? 1 : 0;
}

let exiting = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (exiting) process.exit(130);
    exiting = true;
    log(`${signal}: cleaning up…`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  async (error) => {
    console.error(error);
    await cleanupAll();
    process.exit(1);
  },
);
