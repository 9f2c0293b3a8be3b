#!/usr/bin/env node
import { describeError, ErrorCode, isOidcError } from "../core/errors.js";
import { redact } from "../core/redact.js";
import { storePaths } from "../store/paths.js";
import { type Command, helpText, parseCommandArgs } from "./command.js";
import { login } from "./commands/login.js";
import { logout } from "./commands/logout.js";
import { models } from "./commands/models.js";
import { presets } from "./commands/presets.js";
import { status } from "./commands/status.js";
import { token } from "./commands/token.js";
import { forCli } from "./hints.js";
import { out, say } from "./io.js";
import { VERSION } from "./version.js";

interface LazyCommand {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}
const lazy = (name: string, summary: string, load: () => Promise<Command>): LazyCommand => ({
  name,
  summary,
  load,
});

/** Commands that pull in heavier modules (the sandbox's OIDC server, YAML) load them only when used. */
const COMMANDS: Array<Command | LazyCommand> = [
  login,
  status,
  token,
  logout,
  models,
  presets,
  lazy(
    "doctor",
    "Check a preset end to end and say what to fix",
    async () => (await import("./commands/doctor.js")).doctor,
  ),
  lazy(
    "envoy",
    "Render Envoy configuration that accepts exactly the preset's tokens",
    async () => (await import("./commands/envoy-cli.js")).envoy,
  ),
  lazy(
    "well-known",
    "Print the /.well-known/opencode document that onboards everyone with one command",
    async () => (await import("./commands/well-known.js")).wellKnown,
  ),
  lazy(
    "sandbox",
    "Start a local OIDC server and a JWT-checking gateway on loopback",
    async () => (await import("./commands/sandbox.js")).sandbox,
  ),
  lazy(
    "demo",
    "Run the whole flow end to end on the sandbox",
    async () => (await import("./commands/demo.js")).demo,
  ),
];

function usage(): string {
  return [
    "Usage: opencode-oidc <command> [options]",
    "",
    "Log in to an OIDC-protected AI gateway and use it from OpenCode, curl or scripts.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary.split(". ")[0]?.replace(/\.$/, "")}`),
    "",
    "Run `opencode-oidc <command> --help` for a command's options.",
  ].join("\n");
}

export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "help" && rest.length > 0) return help(rest);
  if (!name || name === "--help" || name === "-h" || name === "help") {
    out(usage());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-v") {
    out(VERSION);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    say(`Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  let preset: string | undefined;
  try {
    const command = "load" in entry ? await entry.load() : entry;
    const parsed = parseCommandArgs(command, rest);
    preset = typeof parsed.values.preset === "string" ? parsed.values.preset : undefined;
    if (parsed.help) {
      out(helpText(command));
      return 0;
    }
    return await command.run({ values: parsed.values, positionals: parsed.positionals, env, cwd });
  } catch (caught) {
    reportError(forCli(caught, preset), env);
    return isOidcError(caught, "USAGE") ? 2 : 1;
  }
}

/** `opencode-oidc help <command>`: that command's help, as `<command> --help` prints it. */
async function help(args: string[]): Promise<number> {
  const entry = args.length === 1 ? COMMANDS.find((c) => c.name === args[0]) : undefined;
  if (!entry) {
    say(
      `${args.length === 1 ? `Unknown command "${args[0]}".` : "help takes one command name."}\n\n${usage()}`,
    );
    return 2;
  }
  out(helpText("load" in entry ? await entry.load() : entry));
  return 0;
}

/** Every failure gets a message, a stable code and a hint, also the ones nobody foresaw. */
function reportError(error: unknown, env: NodeJS.ProcessEnv): void {
  if (isOidcError(error)) {
    say(`error: ${error.describe()}`);
    say(`(code ${error.code})`);
    return;
  }
  // Not an OidcError: a bug or an unexpected system error. Its text was not written for people (it
  // may even quote data), so it is redacted, and the hint says where to look and what to report.
  const named = error instanceof Error && error.name !== "Error" ? `${error.name}: ` : "";
  say(`error: ${redact(`${named}${describeError(error)}`)}`);
  say(
    `This was not expected (a bug or an unexpected system error). The debug log in ${storePaths(env).logDir} shows what the command did before it; run the command again, and if it keeps failing, report it with this output and that of \`opencode-oidc status\`.`,
  );
  say(`(code ${ErrorCode.INTERNAL})`);
}

const invoked = process.argv[1] && /(?:cli|main)\.(?:js|ts|mjs)$|opencode-oidc$/.test(process.argv[1]);
if (invoked) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      reportError(error, process.env);
      process.exitCode = 1;
    },
  );
}
