/**
 * Helpers for the fault suite (test/faults): a Tenant wired to a sandbox the way the plugin and
 * the CLI wire it, a bounded wait for a condition signalled by an event, and a timer for "how long
 * did the user wait". Everything else comes from engine-fixtures.ts, engine-build.ts and
 * child-processes.ts.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Sandbox } from "../../src/sandbox/sandbox.js";
import { resolveTenants } from "../../src/tenant/resolve-tenants.js";
import type { Tenant, TenantOptions } from "../../src/tenant/tenant.js";
import type { TempHome } from "./engine-fixtures.js";

/** The worker scripts of the fault suite (plain .mjs: child processes run them with plain node). */
export const FAULT_WORKERS = {
  storeWriter: fileURLToPath(new URL("./faults-store-writer.mjs", import.meta.url)),
  soak: fileURLToPath(new URL("./faults-soak-worker.mjs", import.meta.url)),
  /** Preload (`node --import`) that moves the whole process's clock by FAULTS_CLOCK_OFFSET_MS. */
  skewClockUrl: pathToFileURL(fileURLToPath(new URL("./faults-skew-clock.mjs", import.meta.url))).href,
};

/** The environment that points the Haiilo preset at the sandbox, in a temp home. */
export function sandboxEnv(box: Sandbox, home: TempHome): Record<string, string> {
  return { ...home.env, ...box.env, NO_COLOR: "1", OPENCODE_OIDC_NO_BROWSER: "1" };
}

/**
 * The default preset's runtime as the plugin builds it (no config files; `pluginOptions` is the
 * plugin entry's options object in opencode.json, e.g. to set discovery.timeoutMs or a static list).
 */
export async function sandboxRuntime(
  box: Sandbox,
  home: TempHome,
  options: { pluginOptions?: unknown; runtime?: TenantOptions } = {},
): Promise<Tenant> {
  const env = sandboxEnv(box, home);
  const { primary, issues } = await resolveTenants(
    { cwd: home.dir, configFiles: false, env, pluginOptions: options.pluginOptions },
    { env, ...options.runtime },
  );
  if (!primary || issues.length > 0) throw new Error(`preset problems: ${JSON.stringify(issues)}`);
  return primary;
}

/** Plugin options that set the default preset's discovery settings. */
export function discoveryOptions(discovery: Record<string, unknown>): unknown {
  return { presets: [{ id: "haiilo", discovery }] };
}

/** Milliseconds a promise took, with its outcome. */
export async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - started };
}

/** Rejects if `promise` has not settled within `ms` (a bound, never a way to "wait enough"). */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** A counter that resolves `reached` once it gets to `target` (e.g. fed from the IdP's log callback). */
export function eventCounter(target: number): { hit(): void; count(): number; reached: Promise<void> } {
  let n = 0;
  let resolve!: () => void;
  const reached = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    hit() {
      n += 1;
      if (n === target) resolve();
    },
    count: () => n,
    reached,
  };
}

/** Parses the last JSON line a worker printed on stdout. */
export function lastJsonLine<T>(stdout: string): T {
  const line = stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  if (!line) throw new Error(`no JSON line in:\n${stdout.slice(-2000)}`);
  return JSON.parse(line) as T;
}
