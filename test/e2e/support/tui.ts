/**
 * Drives the real OpenCode TUI in a tmux pane, the way a person does: keys in, screen out.
 *
 * - Every TUI gets its own tmux server on a private socket (`tmux -L <socket> -f /dev/null`), so no
 *   user config and no other session is touched; `close()` kills that server (and OpenCode with it).
 * - OpenCode runs under `env -i` with exactly the test home's environment (plus
 *   `TERM=xterm-256color`), from a small script in the home folder.
 * - `type()` sends literal keys, `press()` named keys (Enter, Escape, Down, C-p, ...).
 * - `waitFor()` polls `capture-pane -p -J` every 250 ms until the text is on screen or a deadline
 *   passes; there are no fixed sleeps.
 * - Every distinct screen seen is kept in memory. When the test fails, all of them are written to
 *   `test/e2e/screens/<test>/` (or `$TUI_SCREENS_DIR/<test>/`) and the folder is printed.
 *   `transcript()` renders them as Markdown.
 */
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, onTestFailed, onTestFinished } from "vitest";
import { type OpencodeHome, opencodeBin } from "./opencode.js";

const exec = promisify(execFile);

const SCREENS_DIR = fileURLToPath(new URL("../screens/", import.meta.url));
const POLL_MS = 250;

export interface Screen {
  /** Milliseconds since the TUI was started. */
  at: number;
  /** What the test was doing or waiting for when the screen was captured. */
  label: string;
  text: string;
  /** A line the test wrote between screens (what happened off screen), not a screen. */
  note?: boolean;
}

export interface StartTuiOptions {
  home: OpencodeHome;
  /** Used for the folder of a failing test's screens (default: the current test's name). */
  name?: string;
  /** Arguments after `opencode` (default none: the TUI in the project folder). */
  args?: string[];
  /** Extra variables over `home.env` (undefined deletes one). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  cols?: number;
  rows?: number;
  /**
   * Text never to keep: replaced by `[secret]` in every captured screen (OpenCode's API-key
   * dialog shows the typed key in clear).
   */
  secrets?: string[];
}

export interface WaitOptions {
  /** Deadline in ms (default 30 s). */
  timeoutMs?: number;
  /** Shown in the saved screens and in the error. */
  label?: string;
}

export class TuiError extends Error {}

/** Single-quotes a value for /bin/sh. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

async function tmuxAvailable(): Promise<void> {
  try {
    await exec("tmux", ["-V"]);
  } catch {
    throw new TuiError(
      "tmux is not installed; the TUI tests need it (`apt-get install -y tmux`; .ci/run installs it).",
    );
  }
}

export class Tui {
  readonly socket: string;
  readonly screens: Screen[] = [];
  private readonly started = performance.now();
  private closed = false;
  private panePid: number | undefined;
  private socketPath: string | undefined;

  private constructor(
    readonly name: string,
    readonly script: string,
    private readonly secrets: string[],
  ) {
    this.socket = `oc-tui-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  }

  /** Starts OpenCode in a fresh tmux server; resolves once the pane runs (not once the UI is drawn). */
  static async start(options: StartTuiOptions): Promise<Tui> {
    await tmuxAvailable();
    const env: Record<string, string> = {
      ...options.home.env,
      TERM: "xterm-256color",
      COLORTERM: "truecolor",
    };
    // A person's terminal: no CI flag, no NO_COLOR (they change what OpenCode draws).
    delete env.CI;
    delete env.NO_COLOR;
    for (const [k, v] of Object.entries(options.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const cwd = options.cwd ?? options.home.projectDir;
    const assignments = Object.entries(env)
      .map(([k, v]) => `${k}=${shellQuote(v)}`)
      .join(" \\\n  ");
    const argv = [opencodeBin(), ...(options.args ?? [])].map(shellQuote).join(" ");
    const script = join(options.home.dir, `tui-${Date.now()}.sh`);
    await writeFile(
      script,
      `#!/bin/sh\ncd ${shellQuote(cwd)} || exit 97\nexec env -i \\\n  ${assignments} \\\n  ${argv}\n`,
      {
        mode: 0o700,
      },
    );
    const testName = options.name ?? expect.getState().currentTestName ?? "tui";
    const tui = new Tui(testName, script, (options.secrets ?? []).filter(Boolean));
    const cols = String(options.cols ?? 160);
    const rows = String(options.rows ?? 48);
    // A placeholder first, so remain-on-exit is set before OpenCode runs: a crash leaves its last screen.
    await tui.tmux(["new-session", "-d", "-s", "main", "-x", cols, "-y", rows, "sleep 86400"]);
    await tui.tmux(["set-option", "-g", "remain-on-exit", "on"]);
    await tui.tmux(["respawn-pane", "-k", "-t", "main", script]);
    tui.socketPath = (await tui.tmux(["display-message", "-p", "#{socket_path}"])).trim() || undefined;
    const pid = Number((await tui.tmux(["display-message", "-p", "-t", "main", "#{pane_pid}"])).trim());
    tui.panePid = Number.isFinite(pid) && pid > 0 ? pid : undefined;
    onTestFailed(async () => {
      await tui.capture("failure").catch(() => undefined);
      tui.dumpScreens();
    });
    onTestFinished(() => tui.close());
    return tui;
  }

  private async tmux(args: string[]): Promise<string> {
    const { stdout } = await exec("tmux", ["-L", this.socket, "-f", "/dev/null", ...args], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        ...(process.env.TMUX_TMPDIR && { TMUX_TMPDIR: process.env.TMUX_TMPDIR }),
      },
      maxBuffer: 8 * 1024 * 1024,
    });
    return stdout;
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.started);
  }

  /** The screen as text (wrapped lines joined, trailing blanks trimmed); kept if it changed. */
  async capture(label = "capture"): Promise<string> {
    const raw = await this.tmux(["capture-pane", "-p", "-J", "-t", "main"]);
    let text = raw
      .split("\n")
      .map((line) => line.trimEnd())
      .join("\n")
      .replace(/\n+$/, "");
    for (const secret of this.secrets) text = text.split(secret).join("[secret]");
    if (this.last !== text || this.screens.length === 0)
      this.screens.push({ at: this.elapsed(), label, text });
    return text;
  }

  /** The last screen captured, without asking tmux. */
  get last(): string {
    return this.screens.findLast((screen) => !screen.note)?.text ?? "";
  }

  /** Records what happened off screen (e.g. the approval in a browser), for the saved screens and transcripts. */
  note(text: string): void {
    this.screens.push({ at: this.elapsed(), label: text, text: "", note: true });
  }

  /** The process id of OpenCode in the pane (the same number for as long as it runs). */
  async pid(): Promise<number> {
    return Number((await this.tmux(["display-message", "-p", "-t", "main", "#{pane_pid}"])).trim());
  }

  /** Whether OpenCode has exited (the pane stays, showing its last screen). */
  async exited(): Promise<boolean> {
    const dead = await this.tmux(["display-message", "-p", "-t", "main", "#{pane_dead}"]).catch(() => "1");
    return dead.trim() === "1";
  }

  /** Types text as literal keys, one key at a time. */
  async type(text: string): Promise<void> {
    for (const char of text) await this.tmux(["send-keys", "-t", "main", "-l", char]);
  }

  /** Presses named keys in order: Enter, Escape, Up, Down, Tab, BSpace, C-p, ... */
  async press(...keys: string[]): Promise<void> {
    for (const key of keys) await this.tmux(["send-keys", "-t", "main", key]);
  }

  /**
   * Polls the screen until `pattern` is on it. Returns the screen and the match. Fails with the last
   * screen on timeout or when OpenCode exits first.
   */
  async waitFor(
    pattern: string | RegExp,
    options: WaitOptions = {},
  ): Promise<{ screen: string; match: RegExpMatchArray }> {
    const re = typeof pattern === "string" ? new RegExp(escapeRegExp(pattern)) : pattern;
    const label = options.label ?? `wait for ${re}`;
    const deadline = performance.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const screen = await this.capture(label);
      const match = screen.match(re);
      if (match) return { screen, match };
      if (await this.exited()) throw this.failure(`OpenCode exited while waiting for ${re}`);
      if (performance.now() > deadline)
        throw this.failure(`timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${re}`);
      await delay(POLL_MS);
    }
  }

  /** Polls until `test` holds for the screen (for checks a regular expression cannot say). */
  async waitUntil(test: (screen: string) => boolean, options: WaitOptions = {}): Promise<string> {
    const label = options.label ?? "wait for a condition";
    const deadline = performance.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const screen = await this.capture(label);
      if (test(screen)) return screen;
      if (await this.exited()) throw this.failure(`OpenCode exited while waiting: ${label}`);
      if (performance.now() > deadline)
        throw this.failure(`timed out after ${options.timeoutMs ?? 30_000} ms: ${label}`);
      await delay(POLL_MS);
    }
  }

  /** Polls until `pattern` is no longer on screen. */
  async waitForGone(pattern: string | RegExp, options: WaitOptions = {}): Promise<string> {
    const re = typeof pattern === "string" ? new RegExp(escapeRegExp(pattern)) : pattern;
    const label = options.label ?? `wait until ${re} is gone`;
    const deadline = performance.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const screen = await this.capture(label);
      if (!re.test(screen)) return screen;
      if (performance.now() > deadline)
        throw this.failure(`timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${re} to go`);
      await delay(POLL_MS);
    }
  }

  /** Polls until the screen has not changed for `quietMs` (e.g. a list has finished filtering). */
  async waitForStill(quietMs = 750, options: WaitOptions = {}): Promise<string> {
    const label = options.label ?? "wait for a still screen";
    const deadline = performance.now() + (options.timeoutMs ?? 30_000);
    let previous = await this.capture(label);
    let since = performance.now();
    for (;;) {
      await delay(POLL_MS);
      const screen = await this.capture(label);
      if (screen !== previous) {
        previous = screen;
        since = performance.now();
      } else if (performance.now() - since >= quietMs) return screen;
      if (performance.now() > deadline) throw this.failure("the screen never settled");
    }
  }

  private failure(message: string): TuiError {
    return new TuiError(`${message}\n--- last screen (${this.name}) ---\n${this.last}\n---`);
  }

  /** Writes every screen seen to a folder and prints where. Returns the folder. */
  dumpScreens(): string {
    const base = process.env.TUI_SCREENS_DIR ?? SCREENS_DIR;
    const dir = join(base, `${slug(this.name)}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
    mkdirSync(dir, { recursive: true });
    this.screens.forEach((screen, index) => {
      const kind = screen.note ? "note" : "screen";
      const file = join(
        dir,
        `${String(index + 1).padStart(3, "0")}-${kind}-${slug(screen.label).slice(0, 60)}.txt`,
      );
      writeFileSync(file, `# ${screen.label} (at ${screen.at} ms)\n${screen.text}\n`);
    });
    console.error(`TUI screens of "${this.name}" (${this.screens.length}): ${dir}`);
    return dir;
  }

  /**
   * The screens as Markdown: one fenced block per distinct screen, headed by what the test was
   * doing, with the notes in between. Blank screens are left out and runs of blank lines shown as one.
   */
  transcript(title: string, intro = ""): string {
    const parts = [`# ${title}`, ""];
    if (intro) parts.push(intro, "");
    for (const screen of this.screens) {
      const at = `${(screen.at / 1000).toFixed(1)} s`;
      if (screen.note) {
        parts.push(`> ${screen.label} (${at})`, "");
        continue;
      }
      const text = squeeze(screen.text);
      if (!text) continue;
      parts.push(`## ${screen.label} (${at})`, "", "```text", text, "```", "");
    }
    return parts.join("\n");
  }

  /** Kills the private tmux server and OpenCode, and removes the socket. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.capture("before close").catch(() => undefined);
    await this.tmux(["kill-server"]).catch(() => undefined);
    // tmux 3.3 leaves the socket file of a killed server behind.
    if (this.socketPath) rmSync(this.socketPath, { force: true });
    const pid = this.panePid;
    if (pid === undefined) return;
    // kill-server hangs up the pane; make sure OpenCode is really gone.
    const deadline = performance.now() + 5_000;
    while (alive(pid) && performance.now() < deadline) await delay(100);
    if (alive(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/** Drops blank lines at the top and bottom and shows each run of blank lines as one. */
function squeeze(text: string): string {
  const lines: string[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim() && (lines.length === 0 || !lines.at(-1)?.trim())) continue;
    lines.push(line);
  }
  while (lines.length && !lines.at(-1)?.trim()) lines.pop();
  return lines.join("\n");
}

export const startTui = Tui.start;
