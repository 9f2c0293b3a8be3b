/**
 * Hermetic harness for running the real OpenCode binary (1.18.33) in end-to-end tests.
 *
 * - The binary lives in its own package folder, `test/e2e/opencode-bin/` (kept out of the main
 *   lockfile). Install it with `npm install --no-audit --no-fund` in that folder (never `npm ci`).
 * - Every test gets its own HOME + XDG_* dirs under the OS temp dir, an offline environment and
 *   pre-seeded config folders so OpenCode does not `npm install @opencode-ai/plugin` (which stalls
 *   for ~70 s without network, ~5 s with it) before loading plugins.
 *
 * Only node: built-ins are used. See FINDINGS.md next to this file for the observed host behaviour.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The OpenCode version the harness is pinned to (also seeded into config folders). */
export const OPENCODE_VERSION = "1.18.33";

const BIN_PACKAGE_DIR = fileURLToPath(new URL("../opencode-bin/", import.meta.url));

/** Absolute path of the OpenCode binary; `OPENCODE_E2E_BIN` overrides it. */
export function opencodeBin(): string {
  const override = process.env.OPENCODE_E2E_BIN;
  if (override) {
    if (!existsSync(override)) throw new Error(`OPENCODE_E2E_BIN points to a missing file: ${override}`);
    return override;
  }
  const bin = join(BIN_PACKAGE_DIR, "node_modules", ".bin", "opencode");
  if (!existsSync(bin)) {
    throw new Error(
      `OpenCode binary not found at ${bin}.\n` +
        `Install it with: (cd ${BIN_PACKAGE_DIR} && npm install --no-audit --no-fund)\n` +
        "(do not use `npm ci` there: the lockfile lacks optional platform packages the registry does not serve).",
    );
  }
  return bin;
}

export interface MakeHomeOptions {
  /** Seed `<projectDir>/.opencode/` (project config folder) too (default true). */
  project?: boolean;
  /** Extra environment variables merged over the defaults (undefined deletes a key). */
  env?: Record<string, string | undefined>;
  /** Set OPENCODE_DISABLE_DEFAULT_PLUGINS=1 (skips built-in auth plugins; default false). */
  disableDefaultPlugins?: boolean;
  /** Prefix of the temp dir name. */
  prefix?: string;
}

export interface OpencodeHome {
  /** Root temp dir (everything below is removed by cleanup()). */
  dir: string;
  /** HOME of the child process. */
  home: string;
  /** Full environment for child processes. */
  env: Record<string, string>;
  /** Global config folder: `$XDG_CONFIG_HOME/opencode` (holds opencode.json). */
  configDir: string;
  /** OpenCode data folder: `$XDG_DATA_HOME/opencode` (auth.json, log/, opencode.db). */
  dataDir: string;
  /** OpenCode cache folder: `$XDG_CACHE_HOME/opencode` (npm plugins are installed here). */
  cacheDir: string;
  /** Default cwd: a minimal git repo root, with a seeded `.opencode/` unless `project: false`. */
  projectDir: string;
  /** `$XDG_DATA_HOME/opencode/auth.json`. */
  authFile: string;
  /** `$XDG_DATA_HOME/opencode/log` (OpenCode's own log files). */
  logDir: string;
  cleanup(): Promise<void>;
}

/** Environment flags for a fast, offline, non-interactive run. */
export const OFFLINE_ENV: Readonly<Record<string, string>> = {
  OPENCODE_DISABLE_MODELS_FETCH: "1",
  OPENCODE_DISABLE_AUTOUPDATE: "1",
  OPENCODE_DISABLE_SHARE: "1",
  OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
  // No scans of ~/.claude or ~/.agents (HOME is empty anyway; keeps runs predictable).
  OPENCODE_DISABLE_CLAUDE_CODE: "1",
  OPENCODE_DISABLE_EXTERNAL_SKILLS: "1",
  // Plain output.
  NO_COLOR: "1",
  TERM: "dumb",
  CI: "true",
};

/**
 * Seeds an OpenCode config folder so the background `npm install @opencode-ai/plugin@<version>`
 * that OpenCode starts in every config folder finds everything up to date and does not hit the
 * network (OpenCode waits for it before loading external plugins).
 */
export async function seedConfigFolder(dir: string, version = OPENCODE_VERSION): Promise<void> {
  await mkdir(join(dir, "node_modules"), { recursive: true });
  await writeFile(
    join(dir, "package.json"),
    `${JSON.stringify({ dependencies: { "@opencode-ai/plugin": version } }, null, 2)}\n`,
  );
  await writeFile(
    join(dir, "package-lock.json"),
    `${JSON.stringify(
      { lockfileVersion: 3, packages: { "": { dependencies: { "@opencode-ai/plugin": version } } } },
      null,
      2,
    )}\n`,
  );
}

export async function makeHome(opts: MakeHomeOptions = {}): Promise<OpencodeHome> {
  const dir = await mkdtemp(join(tmpdir(), opts.prefix ?? "oc-e2e-"));
  const home = join(dir, "home");
  const xdgConfig = join(dir, "xdg-config");
  const xdgData = join(dir, "xdg-data");
  const xdgCache = join(dir, "xdg-cache");
  const xdgState = join(dir, "xdg-state");
  const configDir = join(xdgConfig, "opencode");
  const dataDir = join(xdgData, "opencode");
  const cacheDir = join(xdgCache, "opencode");
  for (const d of [home, configDir, dataDir, cacheDir, join(xdgState, "opencode")]) {
    await mkdir(d, { recursive: true });
  }
  await seedConfigFolder(configDir);

  // The default cwd is a (minimal, commit-less) git repository: OpenCode searches `.opencode/`
  // folders upward from the cwd to the worktree root, and outside a repository the "worktree" is
  // `/`, so a stray /tmp/.opencode would be loaded. (An empty `.git/` folder is not enough.)
  const projectDir = join(dir, "project");
  await mkdir(join(projectDir, ".git", "objects"), { recursive: true });
  await mkdir(join(projectDir, ".git", "refs", "heads"), { recursive: true });
  await writeFile(join(projectDir, ".git", "HEAD"), "ref: refs/heads/main\n");
  if (opts.project !== false) await seedConfigFolder(join(projectDir, ".opencode"));

  const env: Record<string, string> = {};
  for (const key of ["PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT"]) {
    const v = process.env[key];
    if (v !== undefined) env[key] = v;
  }
  Object.assign(env, OFFLINE_ENV, {
    HOME: home,
    USERPROFILE: home,
    XDG_CONFIG_HOME: xdgConfig,
    XDG_DATA_HOME: xdgData,
    XDG_CACHE_HOME: xdgCache,
    XDG_STATE_HOME: xdgState,
    TMPDIR: tmpdir(),
  });
  if (opts.disableDefaultPlugins) env.OPENCODE_DISABLE_DEFAULT_PLUGINS = "1";
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }

  return {
    dir,
    home,
    env,
    configDir,
    dataDir,
    cacheDir,
    projectDir,
    authFile: join(dataDir, "auth.json"),
    logDir: join(dataDir, "log"),
    cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }),
  };
}

/** Writes `opencode.json` in the global config folder. */
export async function writeConfig(home: OpencodeHome, config: object): Promise<string> {
  const file = join(home.configDir, "opencode.json");
  await writeFile(
    file,
    `${JSON.stringify({ $schema: "https://opencode.ai/config.json", ...config }, null, 2)}\n`,
  );
  return file;
}

/** Writes OpenCode's auth.json (mode 0600), e.g. `{ myco: { type: "oauth", refresh, access, expires } }`. */
export async function writeAuth(home: OpencodeHome, auth: object): Promise<void> {
  await writeFile(home.authFile, `${JSON.stringify(auth, null, 2)}\n`, { mode: 0o600 });
}

export interface RunOptions {
  home: OpencodeHome;
  /** Extra env merged over home.env (undefined deletes a key). */
  env?: Record<string, string | undefined>;
  /** Written to stdin, then stdin is closed. Without it stdin is closed immediately. */
  input?: string | Buffer;
  /** Kill the process group after this long (default 60 s). */
  timeoutMs?: number;
  /** Working directory (default home.projectDir). */
  cwd?: string;
}

export interface RunResult {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall-clock duration in ms. */
  ms: number;
  timedOut: boolean;
}

function childEnv(opts: RunOptions): Record<string, string> {
  const env = { ...opts.home.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // detached => the child leads its own process group
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

interface Waiter {
  re: RegExp;
  stream: "stdout" | "stderr" | "any";
  resolve: (m: RegExpMatchArray) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/** Handle for a long-running OpenCode command (e.g. `auth login` that waits for a callback). */
export interface OpencodeProcess {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  /** Output captured so far. */
  readonly stdout: string;
  readonly stderr: string;
  /**
   * Resolves with the first match of `re` on the chosen stream (default: either), looking at the
   * output seen so far and then at new output. Rejects if the process exits first or on timeout.
   */
  waitFor(
    re: RegExp,
    opts?: { stream?: "stdout" | "stderr" | "any"; timeoutMs?: number },
  ): Promise<RegExpMatchArray>;
  /** Writes to stdin (stdin stays open until endInput()). */
  write(data: string | Buffer): void;
  endInput(): void;
  /** Resolves when the process has exited (after its overall timeout it is killed). */
  exited: Promise<RunResult>;
  /**
   * Sends `signal` (default SIGTERM) to the whole process group and, if the process has not exited
   * after `graceMs` (default 2000; 0 = never), SIGKILL. Needed because OpenCode 1.18.33 prints
   * "Canceled" on SIGTERM/SIGINT during `auth login` but keeps running while `callback()` is pending.
   */
  kill(signal?: NodeJS.Signals, graceMs?: number): void;
}

export interface StartOptions extends Omit<RunOptions, "input"> {
  /** Keep stdin open for write() (default false: stdin is closed at once, like `</dev/null`). */
  keepStdin?: boolean;
  input?: string | Buffer;
}

export function startOpencode(args: string[], opts: StartOptions): OpencodeProcess {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = performance.now();
  const child = spawn(opencodeBin(), args, {
    cwd: opts.cwd ?? opts.home.projectDir,
    env: childEnv(opts),
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    shell: false,
  });
  let stdout = "";
  let stderr = "";
  let timedOut = false;
  let exitedFlag = false;
  const waiters = new Set<Waiter>();

  const check = () => {
    for (const w of waiters) {
      const text = w.stream === "stdout" ? stdout : w.stream === "stderr" ? stderr : `${stdout}\n${stderr}`;
      const m = text.match(w.re);
      if (m) {
        waiters.delete(w);
        if (w.timer) clearTimeout(w.timer);
        w.resolve(m);
      }
    }
  };
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (d: string) => {
    stdout += d;
    check();
  });
  child.stderr?.on("data", (d: string) => {
    stderr += d;
    check();
  });
  child.stdin?.on("error", () => {
    /* EPIPE when the child exits before reading stdin */
  });
  if (opts.input !== undefined) child.stdin?.write(opts.input);
  if (!opts.keepStdin) child.stdin?.end();

  const overall = setTimeout(() => {
    timedOut = true;
    killGroup(child, "SIGKILL");
  }, timeoutMs);

  const exited = new Promise<RunResult>((resolve, reject) => {
    child.on("error", (err) => {
      clearTimeout(overall);
      exitedFlag = true;
      for (const w of waiters) {
        if (w.timer) clearTimeout(w.timer);
        w.reject(err);
      }
      waiters.clear();
      reject(err);
    });
    // "close" fires after stdio streams end, so all output has been read.
    child.on("close", (code, signal) => {
      clearTimeout(overall);
      exitedFlag = true;
      // Reap anything the command left behind in its group.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          /* group already empty */
        }
      }
      check();
      const result: RunResult = {
        code,
        signal,
        stdout,
        stderr,
        ms: Math.round(performance.now() - started),
        timedOut,
      };
      for (const w of waiters) {
        if (w.timer) clearTimeout(w.timer);
        w.reject(
          new Error(
            `opencode ${args.join(" ")} exited (code ${code}, signal ${signal}) before output matched ${w.re}\n` +
              `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
          ),
        );
      }
      waiters.clear();
      resolve(result);
    });
  });
  // Avoid unhandled rejections if a test only uses waitFor().
  exited.catch(() => {});

  return {
    child,
    pid: child.pid,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    waitFor(re, wopts = {}) {
      return new Promise<RegExpMatchArray>((resolve, reject) => {
        const w: Waiter = { re, stream: wopts.stream ?? "any", resolve, reject };
        waiters.add(w);
        check();
        if (!waiters.has(w)) return;
        if (exitedFlag) {
          waiters.delete(w);
          reject(new Error(`opencode already exited; output never matched ${re}`));
          return;
        }
        if (wopts.timeoutMs !== undefined) {
          w.timer = setTimeout(() => {
            waiters.delete(w);
            reject(
              new Error(
                `timed out after ${wopts.timeoutMs} ms waiting for ${re}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
              ),
            );
          }, wopts.timeoutMs);
        }
      });
    },
    write(data) {
      child.stdin?.write(data);
    },
    endInput() {
      child.stdin?.end();
    },
    exited,
    kill(signal = "SIGTERM", graceMs = 2000) {
      killGroup(child, signal);
      if (signal !== "SIGKILL" && graceMs > 0) {
        const t = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
        t.unref();
        child.once("close", () => clearTimeout(t));
      }
    },
  };
}

/**
 * Removes ANSI escape sequences. OpenCode's CLI (clack prompts) emits colours and cursor codes even
 * with NO_COLOR=1, TERM=dumb and no TTY; stderr of every command starts with "\x1b[0m\n".
 */
export function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
}

/** Runs an OpenCode command to completion. Never rejects on a non-zero exit; check `code`. */
export async function runOpencode(args: string[], opts: RunOptions): Promise<RunResult> {
  return startOpencode(args, { ...opts, keepStdin: false }).exited;
}
