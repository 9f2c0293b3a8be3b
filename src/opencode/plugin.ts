import type { Config, Hooks, Plugin, PluginInput } from "@opencode-ai/plugin";
import { OPENCODE_PRESET_SLOTS } from "../core/defaults.js";
import { formatIssue } from "../presets/issues.js";
import { resolveTenants } from "../tenant/resolve-tenants.js";
import type { Tenant } from "../tenant/tenant.js";
import { opencodeApiKeySource } from "./auth-file.js";
import { methodsFor } from "./auth-methods.js";
import { discoverModels, injectProviders, type ProviderModels } from "./config-hook.js";
import { pluginOptionsTrusted } from "./config-origin.js";
import { PLUGIN_ID } from "./constants.js";

/**
 * The OpenCode plugin. OpenCode 1.18.33 calls every function the module exports and registers the
 * `auth` hook of each for that hook's provider (test/e2e/support/FINDINGS.md, Q8), so the entry
 * exports one function per preset slot: slot N gives the N-th preset (the default preset first) its
 * provider, its models and its own login methods in the Connect dialog. Nothing here prints,
 * prompts or throws into OpenCode; problems go to the debug log.
 */

/** What every slot of one plugin load shares: the presets, resolved once, and one listing per config. */
interface Load {
  tenants: Tenant[];
  listings: WeakMap<object, Map<Tenant, Promise<ProviderModels>>>;
}

/** Keyed by OpenCode's plugin input (one object per load, handed to every export) and the options. */
const loads = new WeakMap<object, Map<unknown, Promise<Load | undefined>>>();

function loadFor(
  input: PluginInput,
  options: Record<string, unknown> | undefined,
): Promise<Load | undefined> {
  let byOptions = loads.get(input);
  if (!byOptions) {
    byOptions = new Map();
    loads.set(input, byOptions);
  }
  let load = byOptions.get(options);
  if (!load) {
    load = (async (): Promise<Load> => {
      const resolved = await resolveTenants(
        {
          cwd: input.directory,
          pluginOptions: options,
          pluginOptionsTrusted: await pluginOptionsTrusted(options, PLUGIN_ID),
        },
        { apiKeySources: [opencodeApiKeySource] },
      );
      for (const issue of resolved.issues)
        resolved.primary?.logger.log("error", `preset problem: ${formatIssue(issue)}`);
      return { tenants: resolved.all, listings: new WeakMap() };
    })().catch(() => undefined);
    byOptions.set(options, load);
  }
  return load;
}

/** The listing of each tenant for this config, started for all tenants by the first slot that asks. */
function listingFor(load: Load, config: Config, tenant: Tenant): Promise<ProviderModels> {
  let listings = load.listings.get(config);
  if (!listings) {
    listings = discoverModels(load.tenants);
    load.listings.set(config, listings);
  }
  return listings.get(tenant) ?? Promise.resolve({ models: {}, source: "none" });
}

/** The plugin function of slot `index`: the hooks of the index-th preset, or none. */
export function presetSlot(index: number): Plugin {
  return async (input: PluginInput, options?: Record<string, unknown>): Promise<Hooks> => {
    const load = await loadFor(input, options);
    const tenant = load?.tenants[index];
    if (!load || !tenant) return {};
    // Presets beyond the last slot ride along with the default preset's provider entry.
    const overflow = index === 0 ? load.tenants.slice(OPENCODE_PRESET_SLOTS) : [];
    return {
      async config(config) {
        await injectProviders(config, [tenant, ...overflow], {
          listing: (each) => listingFor(load, config, each),
          directory: input.directory,
        });
      },
      auth: {
        provider: tenant.preset.provider.id,
        methods: methodsFor([tenant, ...overflow]),
      },
    };
  };
}

/** The default preset's plugin function (slot 0); src/index.ts exports one per slot. */
export const server: Plugin = presetSlot(0);
