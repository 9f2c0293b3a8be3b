import type { Config } from "@opencode-ai/plugin";
import { MODEL_DISCOVERY } from "../core/defaults.js";
import { listModels } from "../tenant/model-listing.js";
import type { Tenant } from "../tenant/tenant.js";
import { type OpencodeModel, toOpencodeModels } from "./models.js";

type ProviderConfig = NonNullable<Config["provider"]>[string];

/**
 * Adds each preset's provider to OpenCode's live config unless the user defined it, and fills in the
 * discovered models. What the user wrote by hand (options, models, names) always wins. Never throws.
 */
/** When the plugin module was loaded: OpenCode's wait for a gateway counts from here, not from the hook. */
const loadedAt = Date.now();

let starting = true;

/** At startup, the part of the preset's discovery timeout that loading and resolving has not used up. */
function budget(tenant: Tenant): { timeoutMs: number } {
  const { timeoutMs } = tenant.preset.discovery;
  return {
    timeoutMs: starting
      ? Math.max(MODEL_DISCOVERY.minStartupBudgetMs, timeoutMs - (Date.now() - loadedAt))
      : timeoutMs,
  };
}

export async function injectProviders(
  config: Config,
  tenants: Tenant[],
  extraOptions: (tenant: Tenant) => Record<string, unknown> = () => ({}),
): Promise<void> {
  const listings = await Promise.all(
    tenants.map((tenant) =>
      listModels(tenant, budget(tenant)).then(
        (listing) => {
          // OpenCode shows nothing of it: the debug log is where a person finds why models are missing.
          if (listing.problem)
            tenant.logger.log("warn", `model discovery failed: ${listing.problem}`, {
              answered: listing.source,
            });
          return { ...listing, models: toOpencodeModels(listing.models) };
        },
        (error: unknown) => {
          tenant.logger.log("warn", "model discovery failed", { error: String(error) });
          return { models: {} as Record<string, OpencodeModel>, source: "none" as const };
        },
      ),
    ),
  );
  starting = false;
  config.provider ??= {};
  tenants.forEach((tenant, index) => {
    const { provider } = tenant.preset;
    const listing = listings[index];
    const user = (config.provider?.[provider.id] ?? {}) as ProviderConfig & Record<string, unknown>;
    const entry: Record<string, unknown> = {
      npm: provider.npm,
      name: provider.name,
      ...user,
      options: {
        baseURL: provider.baseURL,
        ...extraOptions(tenant),
        ...(user.options as Record<string, unknown> | undefined),
      },
      models: { ...listing?.models, ...(user.models as Record<string, unknown> | undefined) },
    };
    (config.provider as Record<string, unknown>)[provider.id] = entry;
    tenant.logger.log("debug", "provider injected", {
      provider: provider.id,
      models: Object.keys(entry.models as object).length,
      source: listing?.source,
    });
  });
}
