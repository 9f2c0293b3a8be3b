import { homedir } from "node:os";
import { join } from "node:path";
import { cosmiconfig, getDefaultSearchPlaces, globalConfigSearchPlaces } from "cosmiconfig";
import envPaths from "env-paths";
import type { Issue } from "./issues.js";

export const MODULE_NAME = "opencode-oidc";

/** cosmiconfig's places plus `opencode-oidc.config.{json,yaml,yml}`; TypeScript configs are left out. */
export const SEARCH_PLACES = [
  ...getDefaultSearchPlaces(MODULE_NAME).filter((p) => !p.endsWith(".ts")),
  `${MODULE_NAME}.config.json`,
  `${MODULE_NAME}.config.yaml`,
  `${MODULE_NAME}.config.yml`,
];

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
 * Finds the project config (from `cwd` up to the home folder) and the global config. A file that
 * cannot be parsed becomes an issue naming the file, never an exception.
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
  const project = await load(
    () =>
      cosmiconfig(MODULE_NAME, {
        searchStrategy: "global",
        searchPlaces: SEARCH_PLACES,
        stopDir: env.HOME ?? homedir(),
        cache: false,
      }).search(cwd),
    cwd,
  );
  const global = await load(
    () =>
      cosmiconfig(MODULE_NAME, {
        searchStrategy: "none",
        searchPlaces: globalConfigSearchPlaces.filter((p) => !p.endsWith(".ts")),
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
