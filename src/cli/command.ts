import { parseArgs } from "node:util";
import { ErrorCode, OidcError } from "../core/errors.js";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  description: string;
  default?: string | boolean;
  multiple?: boolean;
}

export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Whether the command takes positional arguments (`presets validate FILE...`); others refuse them. */
  positionals?: boolean;
  options: Record<string, OptionSpec>;
  run(ctx: CommandContext): Promise<number>;
}

export const PRESET_OPTION: Record<string, OptionSpec> = {
  preset: {
    type: "string",
    short: "p",
    description: "Preset id (default: the configured default, `haiilo`)",
  },
};

/** For commands run where only OpenCode's config knows the preset (the well-known onboarding). */
export const PLUGIN_OPTIONS_OPTION: Record<string, OptionSpec> = {
  "plugin-options": {
    type: "string",
    description: "The plugin options of opencode.json as JSON (a config document), as one more preset layer",
  },
};

export function helpText(command: Command): string {
  const lines = [`Usage: opencode-oidc ${command.usage}`, "", command.summary, "", "Options:"];
  const all = {
    ...command.options,
    help: { type: "boolean", short: "h", description: "Show this help" } as OptionSpec,
  };
  for (const [name, spec] of Object.entries(all)) {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.type === "string" ? " <value>" : ""}`;
    lines.push(`  ${flag.padEnd(28)} ${spec.description}`);
  }
  return lines.join("\n");
}

export function parseCommandArgs(
  command: Command,
  argv: string[],
): { values: CommandContext["values"]; positionals: string[]; help: boolean } {
  let parsed: { values: CommandContext["values"]; positionals: string[] };
  try {
    const options = Object.fromEntries(
      Object.entries({
        ...command.options,
        help: { type: "boolean", short: "h", description: "" } as OptionSpec,
      }).map(([name, spec]) => [
        name,
        {
          type: spec.type,
          ...(spec.short && { short: spec.short }),
          ...(spec.multiple && { multiple: true }),
          ...(spec.default !== undefined && { default: spec.default }),
        },
      ]),
    );
    const config = { args: argv, options, allowPositionals: true, allowNegative: true, strict: true };
    parsed = parseArgs(config as Parameters<typeof parseArgs>[0]) as unknown as typeof parsed;
  } catch (error) {
    throw new OidcError(ErrorCode.USAGE, (error as Error).message, {
      hint: `Run \`opencode-oidc ${command.name} --help\` for the options.`,
    });
  }
  const { values, positionals } = parsed;
  const help = values.help === true;
  if (!help) checkArguments(command, values, positionals);
  return { values, positionals, help };
}

/**
 * What parseArgs lets through but a command cannot mean: an argument the command does not take
 * (`status extra`), or an option given an empty value (`--preset=`, which would otherwise fall back
 * to the default preset without a word). Not checked when `--help` is asked for.
 */
function checkArguments(command: Command, values: CommandContext["values"], positionals: string[]): void {
  const hint = `Run \`opencode-oidc ${command.name} --help\` for the options.`;
  if (!command.positionals && positionals.length > 0) {
    throw new OidcError(
      ErrorCode.USAGE,
      `opencode-oidc ${command.name} takes no arguments, but was given ${positionals.map((p) => JSON.stringify(p)).join(" ")}.`,
      { hint },
    );
  }
  for (const [name, value] of Object.entries(values)) {
    const empty = value === "" || (Array.isArray(value) && value.includes(""));
    if (empty)
      throw new OidcError(ErrorCode.USAGE, `--${name} needs a value, and was given an empty one.`, { hint });
  }
}
