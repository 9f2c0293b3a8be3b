import { ErrorCode, OidcError } from "../core/errors.js";
import type { LogLevel } from "../core/ports.js";
import { opencodeApiKeySource } from "../opencode/auth-file.js";
import { formatIssue, isWarning, presetInvalidError } from "../presets/issues.js";
import { resolveTenants } from "../tenant/resolve-tenants.js";
import type { Tenant } from "../tenant/tenant.js";
import type { CommandContext } from "./command.js";
import { say } from "./io.js";

const echo = (level: LogLevel, line: string) => {
  if (level === "warn" || level === "error") say(`warning: ${line.replace(/^\S+ \S+ /, "")}`);
};

/** `--plugin-options JSON` (a command that takes it): the plugin's options as one more preset layer. */
export function pluginOptions(ctx: CommandContext): unknown {
  const text = ctx.values["plugin-options"];
  if (typeof text !== "string") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OidcError(ErrorCode.USAGE, `--plugin-options is not JSON: ${(error as Error).message}`, {
      hint: 'Pass the plugin options of opencode.json, e.g. --plugin-options \'{"default":"acme","presets":[...]}\'.',
    });
  }
}

/** The tenant of the preset named by `--preset` (or the default), with warnings echoed to stderr. */
export async function tenantFor(ctx: CommandContext): Promise<Tenant> {
  const options = pluginOptions(ctx);
  const { all, primary, issues } = await resolveTenants(
    { cwd: ctx.cwd, ...(options !== undefined && { pluginOptions: options }) },
    { env: ctx.env, echo, apiKeySources: [opencodeApiKeySource] },
  );
  // The CLI refuses to act on a configuration with any error (the plugin logs them and goes on);
  // warnings (e.g. a working folder's file that tried to redirect credentials) are shown.
  const errors = issues.filter((issue) => !isWarning(issue));
  if (errors.length > 0) throw presetInvalidError(errors);
  for (const issue of issues) say(formatIssue(issue));
  const wanted = typeof ctx.values.preset === "string" ? ctx.values.preset : undefined;
  const tenant = wanted ? all.find((t) => t.preset.id === wanted) : primary;
  if (!tenant) {
    throw new OidcError(ErrorCode.PRESET_NOT_FOUND, `Unknown preset "${wanted}".`, {
      hint: `Known presets: ${all.map((t) => t.preset.id).join(", ") || "(none)"}. \`opencode-oidc presets list\` shows where each comes from.`,
    });
  }
  return tenant;
}
