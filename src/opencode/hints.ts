import { isOidcError, LOGIN_NEEDED } from "../core/errors.js";
import type { Tenant } from "../tenant/tenant.js";

/** How to connect a tenant's provider from inside OpenCode (TUI and command line). */
export function connectHint(tenant: Tenant): string {
  const { provider, auth, id } = tenant.preset;
  const methods = [
    auth.deviceFlow.enabled ? auth.deviceFlow.label : undefined,
    auth.apiKey.enabled ? auth.apiKey.label : undefined,
  ].filter((label): label is string => label !== undefined);
  const then = methods.length > 0 ? `, then ${methods.join(" or ")}` : "";
  return `Connect in OpenCode: /connect (or Ctrl+P → Connect provider), choose ${provider.name}${then}; or run \`opencode auth login\` and choose ${provider.name}; or in a terminal \`opencode-oidc login --preset ${id}\`.`;
}

/** An engine error as OpenCode should show it: errors a login fixes say how to connect in OpenCode. */
export function forOpencode(error: unknown, tenant: Tenant): unknown {
  if (!isOidcError(error) || !LOGIN_NEEDED.has(error.code)) return error;
  if (error.hint?.includes(connectHint(tenant))) return error;
  const engineHint = error.hint && !/^Log in (again|first)\.$/.test(error.hint) ? `${error.hint} ` : "";
  return error.withHint(`${engineHint}${connectHint(tenant)}`);
}
