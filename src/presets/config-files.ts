import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import envPaths from "env-paths";
import type { Issue } from "./issues.js";

export const MODULE_NAME = "opencode-oidc";

const DATA_EXTENSIONS = ["", ".json", ".yaml", ".yml"];
const CODE_EXTENSIONS = [".js", ".cjs", ".mjs"];
const EXTENSIONS = [...DATA_EXTENSIONS, ...CODE_EXTENSIONS];

const places = (extensions: string[], withPackageJson: boolean) => [
  ...(withPackageJson ? ["package.json"] : []),
  ...extensions.map((ext) => `.${MODULE_NAME}rc${ext}`),
  ...extensions.map((ext) => `.config/${MODULE_NAME}rc${ext}`),
  ...extensions.filter((ext) => ext !== "").map((ext) => `${MODULE_NAME}.config${ext}`),
];

/**
 * Where a project config may be, in cosmiconfig's order: data formats only. A working folder is
 * untrusted, so config files that run code (`.js`, `.cjs`, `.mjs`) are never read from it.
 */
export const SEARCH_PLACES = places(DATA_EXTENSIONS, true);

/** Config files that would run code: read only from the user's global folder. */
export const CODE_PLACES = places(CODE_EXTENSIONS, false);

/** What cosmiconfig looks for in the global folder. */
export const GLOBAL_SEARCH_PLACES = EXTENSIONS.map((ext) => `config${ext}`);

export interface ConfigFile {
  filepath: string;
  config: unknown;
}

export interface FoundConfig {
  global?: ConfigFile;
  project?: ConfigFile;
  issues: Issue[];
}

/** The user's global config folder: `$XDG_CONFIG_HOME/opencode-oidc` (via env-paths, as cosmiconfig uses). */
export function globalConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, MODULE_NAME);
  return envPaths(MODULE_NAME, { suffix: "" }).config;
}

/**
 * Where the upward search for a project config stops: the nearest folder from `cwd` up that is a
 * repository root (has `.git`) or the home folder, whichever comes first. Outside both, only `cwd`
 * itself is searched: never `/tmp` or `/` above an unrelated working folder.
 */
export function projectStopDir(cwd: string, home: string): string {
  const start = resolve(cwd);
  const stop = resolve(home);
  let dir = start;
  for (;;) {
    if (dir === stop || existsSync(join(dir, ".git"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}

/**
 * Finds the project config (from `cwd` up to the repository root or the home folder) and the
 * global config. A file that cannot be parsed becomes an issue naming the file, never an exception.
 */
export async function findConfigFiles(
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FoundConfig> {
  const issues: Issue[] = [];
  const globalDir = globalConfigDir(env);
  const load = async (
    what: () => Promise<ConfigFile | null>,
    where: string,
  ): Promise<ConfigFile | undefined> => {
    try {
      const found = await what();
      return found && !("isEmpty" in found && found.isEmpty) ? found : undefined;
    } catch (error) {
      const file = (error as { filepath?: string }).filepath ?? where;
      issues.push({ source: `file ${file}`, pointer: "", message: `cannot be read: ${firstLine(error)}` });
      return undefined;
    }
  };
  const stopDir = projectStopDir(cwd, env.HOME ?? homedir());
  for (const file of codeConfigsIn(cwd, stopDir)) {
    issues.push({
      source: `file ${file}`,
      pointer: "",
      message: `ignored: config files that run code are read only from ${globalDir}, never from a working folder (use opencode-oidc.config.json here)`,
      severity: "warning",
    });
  }
  // Most users have no config file: find that out with a few stat calls and skip loading cosmiconfig.
  if (
    !hasProjectCandidate(cwd, stopDir) &&
    !GLOBAL_SEARCH_PLACES.some((p) => existsSync(join(globalDir, p)))
  ) {
    return { issues };
  }
  const { cosmiconfig } = await import("cosmiconfig");
  const project = await load(
    () =>
      cosmiconfig(MODULE_NAME, {
        searchStrategy: "global",
        searchPlaces: SEARCH_PLACES,
        stopDir,
        cache: false,
      }).search(cwd),
    cwd,
  );
  const global = await load(
    () =>
      cosmiconfig(MODULE_NAME, {
        searchStrategy: "none",
        searchPlaces: GLOBAL_SEARCH_PLACES,
        cache: false,
      }).search(globalDir),
    globalDir,
  );
  // The upward search falls back to the global folder; count that file once, as the global layer.
  const projectIsGlobal = project && global && project.filepath === global.filepath;
  return { global, project: projectIsGlobal ? undefined : project, issues };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}

/** Code-format config files between `cwd` and `stopDir` (reported, never loaded). */
function codeConfigsIn(cwd: string, stopDir: string): string[] {
  const found: string[] = [];
  let dir = resolve(cwd);
  const stop = resolve(stopDir);
  for (;;) {
    for (const place of CODE_PLACES) if (existsSync(join(dir, place))) found.push(join(dir, place));
    const parent = dirname(dir);
    if (dir === stop || parent === dir) return found;
    dir = parent;
  }
}

/** Whether any directory from `cwd` up to `stopDir` holds one of the search places (package.json: with our key). */
function hasProjectCandidate(cwd: string, stopDir: string): boolean {
  let dir = resolve(cwd);
  const stop = resolve(stopDir);
  for (;;) {
    for (const place of SEARCH_PLACES) {
      const path = join(dir, place);
      if (!existsSync(path)) continue;
      if (place !== "package.json") return true;
      try {
        if (MODULE_NAME in JSON.parse(readFileSync(path, "utf8"))) return true;
      } catch {
        return true; // let cosmiconfig report the broken file
      }
    }
    const parent = dirname(dir);
    if (dir === stop || parent === dir) return false;
    dir = parent;
  }
}
