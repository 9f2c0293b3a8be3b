/**
 * A private build of the plugin, the engine and the CLI with the project's tsup settings (the same
 * as dist/), so the benchmarks never race someone else's `npm run build` wiping dist/. It goes to
 * node_modules/.cache, where the bundle's bare imports resolve to the project's packages exactly as
 * they do from dist/. (Same approach as test/support/engine-build.ts.)
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "tsup";
import { onCleanup } from "./cleanup.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface PrivateBuild {
  dir: string;
  /** The plugin entry, like dist/index.js. */
  index: string;
  indexUrl: string;
  engineUrl: string;
  cli: string;
  ms: number;
}

export async function privateBuild(): Promise<PrivateBuild> {
  const dir = join(ROOT, "node_modules", ".cache", `bench-build-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  onCleanup("private build", () => rmSync(dir, { recursive: true, force: true }));
  const started = performance.now();
  // tsup.config.ts itself (entries, externals, define), only written elsewhere and without types.
  await build({ outDir: dir, dts: false, silent: true });
  return {
    dir,
    index: join(dir, "index.js"),
    indexUrl: pathToFileURL(join(dir, "index.js")).href,
    engineUrl: pathToFileURL(join(dir, "engine.js")).href,
    cli: join(dir, "cli.js"),
    ms: performance.now() - started,
  };
}
