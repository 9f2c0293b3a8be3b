import { ErrorCode, OidcError } from "../core/errors.js";
import type { LogLevel } from "../core/ports.js";
import { presetInvalidError } from "../presets/issues.js";
import { PresetRuntime } from "../runtime/preset-runtime.js";
import { resolveRuntimes } from "../runtime/resolve-runtimes.js";
import type { CommandContext } from "./command.js";
import { say } from "./io.js";

const echo = (level: LogLevel, line: string) => {
  if (level === "warn" || level === "error") say(`warning: ${line.replace(/^\S+ \S+ /, "")}`);
};

/** The runtime of the preset named by `--preset` (or the default), with warnings echoed to stderr. */
export async function presetRuntime(ctx: CommandContext): Promise<PresetRuntime> {
  const { all, primary, issues } = await resolveRuntimes({ cwd: ctx.cwd }, { env: ctx.env, echo });
  // The CLI refuses to act on a configuration with any error (the plugin logs them and goes on).
  if (issues.length > 0) throw presetInvalidError(issues);
  const wanted = typeof ctx.values.preset === "string" ? ctx.values.preset : undefined;
  const rt = wanted ? all.find((r) => r.preset.id === wanted) : primary;
  if (!rt) {
    throw new OidcError(ErrorCode.PRESET_NOT_FOUND, `Unknown preset "${wanted}".`, {
      hint: `Known presets: ${all.map((r) => r.preset.id).join(", ") || "(none)"}. \`opencode-oidc presets list\` shows where each comes from.`,
    });
  }
  return rt;
}

export { PresetRuntime };
