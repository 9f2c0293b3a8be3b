import type { Config } from "@opencode-ai/plugin";
import { MODEL_DISCOVERY } from "../core/defaults.js";
import type { FetchLike } from "../core/ports.js";
import { listModels, type ModelSource } from "../tenant/model-listing.js";
import type { Tenant } from "../tenant/tenant.js";
import { type OpencodeModel, toOpencodeModels } from "./models.js";
import {
  isConnected,
  PLACEHOLDER_MODEL,
  PLACEHOLDER_MODEL_ID,
  type PlaceholderContext,
} from "./placeholder.js";
import { signingFetch } from "./provider-fetch.js";

type ProviderConfig = NonNullable<Config["provider"]>[string];

/** A tenant's models for OpenCode, and where they came from. */
export interface ProviderModels {
  models: Record<string, OpencodeModel>;
  source: ModelSource;
  /** Why the gateway could not be asked (no login yet, unreachable, ...). */
  problem?: string;
}

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

/**
 * Starts the model listing of every tenant at once (each within the startup budget), so one slow
 * gateway does not hold up the next. Never rejects.
 */
export function discoverModels(tenants: Tenant[]): Map<Tenant, Promise<ProviderModels>> {
  const listings = new Map<Tenant, Promise<ProviderModels>>();
  for (const tenant of tenants) {
    listings.set(
      tenant,
      listModels(tenant, budget(tenant)).then(
        (listing): ProviderModels => {
          // OpenCode shows nothing of it: the debug log is where a person finds why models are missing.
          if (listing.problem)
            tenant.logger.log("warn", `model discovery failed: ${listing.problem}`, {
              answered: listing.source,
            });
          return {
            models: toOpencodeModels(listing.models),
            source: listing.source,
            problem: listing.problem,
          };
        },
        (error: unknown): ProviderModels => {
          tenant.logger.log("warn", "model discovery failed", { error: String(error) });
          return { models: {}, source: "none", problem: String(error) };
        },
      ),
    );
  }
  starting = false;
  return listings;
}

/** Model ids the config's `model` / `small_model` name for this provider ("provider/model"). */
function referencedModels(config: Config, providerId: string): string[] {
  const ids: string[] = [];
  for (const ref of [config.model, config.small_model]) {
    if (typeof ref === "string" && ref.startsWith(`${providerId}/`))
      ids.push(ref.slice(providerId.length + 1));
  }
  return ids.filter((id) => id.length > 0);
}

/**
 * Adds a tenant's provider to OpenCode's live config (unless the user defined it) with its models.
 * What the user wrote by hand (options, models, names) always wins. A provider always has at least
 * one model: when neither the listing nor the user gives any, the placeholder entry (plus the models
 * the config's default `model` names), because OpenCode drops a provider without models.
 * `fetch` must answer requests for that entry (see `needsPlaceholder`).
 */
export function injectProvider(
  config: Config,
  tenant: Tenant,
  listing: ProviderModels,
  fetch: FetchLike,
): void {
  const { provider } = tenant.preset;
  config.provider ??= {};
  const user = (config.provider[provider.id] ?? {}) as ProviderConfig & Record<string, unknown>;
  let models: Record<string, unknown> = { ...listing.models, ...(user.models as Record<string, unknown>) };
  const empty = Object.keys(models).length === 0;
  if (empty) {
    models = { [PLACEHOLDER_MODEL_ID]: { ...PLACEHOLDER_MODEL } };
    for (const id of referencedModels(config, provider.id)) models[id] = { name: id };
  }
  const entry: Record<string, unknown> = {
    npm: provider.npm,
    name: provider.name,
    ...user,
    options: {
      baseURL: provider.baseURL,
      fetch,
      ...(user.options as Record<string, unknown> | undefined),
    },
    models,
  };
  (config.provider as Record<string, unknown>)[provider.id] = entry;
  tenant.logger.log("debug", "provider injected", {
    provider: provider.id,
    models: Object.keys(models).length,
    source: empty ? "placeholder" : listing.source,
  });
}

export interface InjectOptions {
  /** Each tenant's listing (default: `discoverModels` for all of them, started at once). */
  listing?: (tenant: Tenant) => Promise<ProviderModels>;
  /** The fetch for a tenant's provider (default: `signingFetch`, by how OpenCode has it connected). */
  fetchFor?: (tenant: Tenant, placeholder: PlaceholderContext | undefined) => Promise<FetchLike>;
  /** The folder OpenCode runs in (for the default fetch's messages). */
  directory?: string;
}

/** Lists and injects the tenants' providers: what one plugin slot's `config` hook does. Never throws. */
export async function injectProviders(
  config: Config,
  tenants: Tenant[],
  options: InjectOptions = {},
): Promise<void> {
  const started = options.listing ? undefined : discoverModels(tenants);
  const listing = options.listing ?? ((tenant: Tenant) => started?.get(tenant) as Promise<ProviderModels>);
  const fetchFor =
    options.fetchFor ??
    ((tenant: Tenant, placeholder: PlaceholderContext | undefined) =>
      signingFetch(tenant, placeholder, options.directory));
  for (const tenant of tenants) {
    try {
      const models = await listing(tenant);
      const placeholder = needsPlaceholder(config, tenant, models)
        ? { problem: models.problem, connected: await isConnected(tenant) }
        : undefined;
      injectProvider(config, tenant, models, await fetchFor(tenant, placeholder));
    } catch (error) {
      tenant.logger.log("error", "config hook failed", { error: String(error) });
    }
  }
}

/** Whether the provider would have no model but the placeholder (nothing listed, nothing hand-written). */
export function needsPlaceholder(config: Config, tenant: Tenant, listing: ProviderModels): boolean {
  const user = config.provider?.[tenant.preset.provider.id] as { models?: object } | undefined;
  return Object.keys({ ...listing.models, ...user?.models }).length === 0;
}
