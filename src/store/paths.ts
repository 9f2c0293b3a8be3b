import { homedir } from "node:os";
import { join } from "node:path";
import envPaths from "env-paths";

export interface StorePaths {
  /** `~/.config/opencode-auth` (honours XDG_CONFIG_HOME), kept for compatibility with the released plugin. */
  authDir: string;
  tokenFile: string;
  logDir: string;
  /** Model discovery cache (not secret): `$XDG_CACHE_HOME/opencode-oidc`. */
  cacheDir: string;
}

export function storePaths(env: NodeJS.ProcessEnv = process.env): StorePaths {
  const home = env.HOME || homedir();
  const configHome = env.XDG_CONFIG_HOME || join(home, ".config");
  const authDir = join(configHome, "opencode-auth");
  const cacheDir = env.XDG_CACHE_HOME
    ? join(env.XDG_CACHE_HOME, "opencode-oidc")
    : envPaths("opencode-oidc", { suffix: "" }).cache;
  return {
    authDir,
    tokenFile: join(authDir, "tokens.json"),
    logDir: join(authDir, "log"),
    cacheDir,
  };
}
