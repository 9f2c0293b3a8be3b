import type { Hooks, Plugin, PluginInput, PluginModule } from "@opencode-ai/plugin";
import { describeError } from "../core/errors.js";
import { formatIssue } from "../presets/issues.js";
import { resolveTenants } from "../tenant/resolve-tenants.js";
import type { Tenant } from "../tenant/tenant.js";
import { opencodeApiKeySource, STORE_MARKER } from "./auth-file.js";
import { methodsFor } from "./auth-methods.js";
import { injectProviders } from "./config-hook.js";
import { pluginOptionsTrusted } from "./config-origin.js";
import { PLUGIN_ID } from "./constants.js";
import { providerFetch } from "./provider-fetch.js";

/**
 * The OpenCode plugin: one provider per resolved preset (the default preset first). Nothing here
 * prints, prompts or throws into OpenCode; problems go to the debug log.
 */
export const server: Plugin = async (
  input: PluginInput,
  options?: Record<string, unknown>,
): Promise<Hooks> => {
  let tenants: Tenant[];
  try {
    const resolved = await resolveTenants(
      {
        cwd: input.directory,
        pluginOptions: options,
        pluginOptionsTrusted: await pluginOptionsTrusted(options, PLUGIN_ID),
      },
      { apiKeySources: [opencodeApiKeySource] },
    );
    tenants = resolved.all;
    for (const issue of resolved.issues)
      resolved.primary?.logger.log("error", `preset problem: ${formatIssue(issue)}`);
  } catch (error) {
    void error;
    return {};
  }
  const primary = tenants[0];
  if (!primary) return {};
  const others = tenants.slice(1);
  return {
    async config(config) {
      try {
        // OpenCode runs the loader (which sets the primary's fetch) only for a login it has recorded;
        // a machine identity needs none, so the primary gets its fetch here too.
        await injectProviders(config, tenants, (tenant) =>
          tenant === primary && !hasMachineIdentity(tenant)
            ? {}
            : { fetch: providerFetch(tenant, "auto", undefined, input) },
        );
      } catch (error) {
        primary.logger.log("error", "config hook failed", { error: describeError(error) });
      }
    },
    auth: {
      provider: primary.preset.provider.id,
      methods: methodsFor([primary, ...others]),
      async loader(getAuth) {
        try {
          const auth = (await getAuth()) as { type?: string; key?: string; access?: string };
          const kind = auth?.type === "api" ? "api" : auth?.type === "oauth" ? "oauth" : "auto";
          const key = kind === "api" && auth.key !== STORE_MARKER ? auth.key : undefined;
          return { apiKey: STORE_MARKER, fetch: providerFetch(primary, kind, key, input) };
        } catch (error) {
          primary.logger.log("error", "loader failed", { error: describeError(error) });
          return {};
        }
      },
    },
  };
};

/** Whether the environment sets a machine identity for the tenant (a contradictory one counts: its error shows on the request). */
function hasMachineIdentity(tenant: Tenant): boolean {
  try {
    return tenant.machineIdentity() !== undefined;
  } catch {
    return true;
  }
}

const plugin: PluginModule = { id: PLUGIN_ID, server };
export default plugin;
