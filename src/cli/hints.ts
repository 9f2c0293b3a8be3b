import { isOidcError, LOGIN_NEEDED } from "../core/errors.js";

/** How to log in with the CLI (the OpenCode way too, since both share the store). */
export function cliLoginHint(presetId?: string): string {
  const preset = presetId ? ` --preset ${presetId}` : "";
  return `Log in: \`opencode-oidc login${preset}\` (or in OpenCode: /connect, or \`opencode auth login\`).`;
}

/** An engine error as the CLI shows it: errors a login fixes name the CLI command. */
export function forCli(error: unknown, presetId?: string): unknown {
  if (!isOidcError(error) || !LOGIN_NEEDED.has(error.code)) return error;
  const engineHint = error.hint && !/^Log in (again|first)\.$/.test(error.hint) ? `${error.hint} ` : "";
  return error.withHint(`${engineHint}${cliLoginHint(presetId)}`);
}
