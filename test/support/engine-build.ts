/**
 * A private build of the CLI and the engine with the project's tsup settings, so child processes run
 * the real bundled code without racing other builds of dist/. It goes to node_modules/.cache, where
 * the bundle's bare imports (oauth4webapi, proper-lockfile, ...) resolve to the project's packages.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "tsup";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface EngineBuild {
  dir: string;
  cli: string;
  engineUrl: string;
  cleanup(): void;
}

export async function buildEngine(): Promise<EngineBuild> {
  const dir = join(ROOT, "node_modules", ".cache", `engine-tests-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  // tsup.config.ts itself (entries, externals, define), only written elsewhere and without types.
  await build({ outDir: dir, dts: false, silent: true });
  return {
    dir,
    cli: join(dir, "cli.js"),
    engineUrl: pathToFileURL(join(dir, "engine.js")).href,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
