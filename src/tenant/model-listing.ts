import { credentialHeaders } from "../core/authorized-fetch.js";
import { MODEL_DISCOVERY } from "../core/defaults.js";
import { describeError, ErrorCode, isOidcError, OidcError } from "../core/errors.js";
import { fetchModels } from "../core/models/fetch-models.js";
import { applyModelSettings } from "../core/models/settings.js";
import type { DiscoveredModel, ModelSpec } from "../core/models/types.js";
import { ModelCache } from "../store/model-cache.js";
import { chooseCredential } from "./credentials.js";
import type { Tenant } from "./tenant.js";

export type ModelSource = "cache" | "gateway" | "static" | "none";

export interface ModelListing {
  models: Record<string, ModelSpec>;
  source: ModelSource;
  /** When the list was fetched from the gateway (epoch ms), for cache and gateway sources. */
  fetchedAt?: number;
  /** Why the gateway could not be asked (no login yet, unreachable, ...): the failure's first line. */
  problem?: string;
  /** The failure itself, with its code and hint, for hosts that show or raise it. */
  failure?: OidcError;
  /** A background refresh started because the cache was stale (awaitable in tests). */
  refreshing?: Promise<void>;
}

export interface ListModelsOptions {
  /** Ignore a fresh cache and ask the gateway (CLI `models --refresh`). */
  refresh?: boolean;
  /** Longest wait for the gateway when nothing is cached; defaults to the preset's discovery timeout. */
  timeoutMs?: number;
  now?: number;
}

/**
 * The discovery policy: models without ever blocking the caller for long: a fresh cache answers at once; a stale
 * cache answers at once and refreshes in the background; with no cache the gateway is asked with a
 * bounded timeout; when that fails, the preset's static list.
 */
export async function listModels(tenant: Tenant, options: ListModelsOptions = {}): Promise<ModelListing> {
  const { discovery, models: rules } = tenant.preset;
  const settings = { allow: discovery.allow, deny: discovery.deny, rules };
  const cache = new ModelCache(tenant.paths.cacheDir, tenant.preset.id, tenant.preset.provider.baseURL);
  const cached = cache.read();
  const now = options.now ?? Date.now();
  const shape = (models: DiscoveredModel[]) => applyModelSettings(models, settings);
  if (cached && !options.refresh) {
    const fresh = now - cached.fetchedAt < discovery.cacheTtlSeconds * 1000;
    const listing: ModelListing = {
      models: shape(cached.models),
      source: "cache",
      fetchedAt: cached.fetchedAt,
    };
    if (!fresh) {
      listing.refreshing = refreshCache(
        tenant,
        cache,
        discovery.timeoutMs * MODEL_DISCOVERY.backgroundTimeoutFactor,
      ).then(
        () => undefined,
        () => undefined,
      );
    }
    return listing;
  }
  try {
    const models = await refreshCache(tenant, cache, options.timeoutMs ?? discovery.timeoutMs);
    return { models: shape(models), source: "gateway", fetchedAt: now };
  } catch (error) {
    const problem = describeError(error).split("\n")[0];
    const failure = isOidcError(error) ? error : undefined;
    const fallback: ModelSource = cached ? "cache" : discovery.static.length > 0 ? "static" : "none";
    // A record for the debug log only: the problem goes back to the host, which shows it (the CLI)
    // or logs it as a warning (OpenCode), so that a person reads it once.
    tenant.logger.log("info", `model discovery failed: ${problem}`, { answered: fallback });
    const reason = { problem, ...(failure && { failure }) };
    if (cached)
      return { models: shape(cached.models), source: "cache", fetchedAt: cached.fetchedAt, ...reason };
    if (fallback === "static") return { models: shape(discovery.static), source: "static", ...reason };
    return { models: {}, source: "none", ...reason };
  }
}

async function refreshCache(
  tenant: Tenant,
  cache: ModelCache,
  timeoutMs: number,
): Promise<DiscoveredModel[]> {
  const signal = AbortSignal.timeout(timeoutMs);
  const credential = await chooseCredential(tenant, signal);
  if (!credential) {
    const issuer = tenant.preset.oidc.issuer;
    throw new OidcError(
      ErrorCode.NOT_LOGGED_IN,
      `Not logged in to ${tenant.preset.name} (preset ${tenant.preset.id}${issuer ? `, issuer ${issuer}` : ""}) and no API key is stored, so the gateway cannot be asked for its models.`,
      { hint: "Log in first." },
    );
  }
  const { discovery, provider } = tenant.preset;
  const models = await fetchModels({
    baseURL: provider.baseURL,
    path: discovery.path,
    metadataPath: discovery.metadataPath,
    headers: credentialHeaders(credential),
    fetch: tenant.fetch,
    signal,
  });
  await cache.write(models);
  tenant.logger.log("info", "models discovered", { count: models.length, baseURL: provider.baseURL });
  return models;
}
