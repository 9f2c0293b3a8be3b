/**
 * Runs the OpenCode binary like test/e2e/support/opencode.ts `runOpencode` (same binary, env, cwd,
 * own process group, killed on timeout) but under `sh -c '…; times'`, so the CPU time of OpenCode and
 * everything it started is known too. CPU time is much less sensitive than wall time to other jobs
 * competing for the CPU (these machines are shared), so it is reported next to the wall time.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { type OpencodeHome, opencodeBin } from "../../test/e2e/support/opencode.js";
import { killChild, trackChild } from "./cleanup.js";

export interface TimedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time, spawn to close. */
  ms: number;
  /** Epoch ms at spawn and at close (to line up with OpenCode's log timestamps). */
  startedAt: number;
  endedAt: number;
  /** User + system CPU time of OpenCode and its children. */
  cpuMs: number;
  timedOut: boolean;
}

const SCRIPT = '"$@"; status=$?; times >&2; exit $status';

function seconds(text: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(text.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
}

export function runTimed(args: string[], home: OpencodeHome, timeoutMs = 60_000): Promise<TimedRun> {
  const started = performance.now();
  const startedAt = Date.now();
  const child = spawn("sh", ["-c", SCRIPT, "sh", opencodeBin(), ...args], {
    cwd: home.projectDir,
    env: home.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  trackChild(child, true);
  let stdout = "";
  let stderr = "";
  let timedOut = false;
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => {
    timedOut = true;
    void killChild(child, true);
  }, timeoutMs);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - started);
      // Reap anything left in the group (as the harness does).
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        /* group empty */
      }
      // `times`: line 1 the shell's own user/sys, line 2 its children's (OpenCode and below).
      const lines = stderr.trimEnd().split("\n");
      const [user = "", sys = ""] = (lines.at(-1) ?? "").trim().split(/\s+/);
      const cpuMs = Math.round((seconds(user) + seconds(sys)) * 1000);
      const endedAt = Date.now();
      resolve({
        code,
        stdout,
        stderr: lines.slice(0, -2).join("\n"),
        ms,
        cpuMs,
        timedOut,
        startedAt,
        endedAt,
      });
    });
  });
}

export interface Phases {
  /** spawn → OpenCode's "creating instance" (binary start). */
  startMs: number;
  /** "creating instance" → the last config file loaded. */
  configMs: number;
  /** last config file loaded → "init": plugins loaded, server() and config hooks awaited, providers. */
  pluginsMs: number;
  /** "init" → process closed (the command itself, then exit). */
  restMs: number;
}

/** Splits one run's wall time with the timestamps of OpenCode's own log (XDG_DATA_HOME/opencode/log). */
export function phases(run: TimedRun, logFile: string): Phases | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return undefined;
  }
  const lines = text.split("\n");
  const created = lines.filter((l) => l.includes('message="creating instance"')).at(-1);
  const id = created && /run=(\w+)/.exec(created)?.[1];
  if (!id) return undefined;
  const mine = lines.filter((l) => l.includes(`run=${id} `));
  const at = (l: string | undefined) => (l ? Date.parse(/timestamp=(\S+)/.exec(l)?.[1] ?? "") : Number.NaN);
  const t0 = at(created);
  const loaded = at(mine.filter((l) => l.includes("message=loading path=")).at(-1));
  const init = at(mine.find((l) => /message=init\b/.test(l)));
  if (![t0, loaded, init].every(Number.isFinite)) return undefined;
  return {
    startMs: t0 - run.startedAt,
    configMs: loaded - t0,
    pluginsMs: init - loaded,
    restMs: run.endedAt - init,
  };
}
