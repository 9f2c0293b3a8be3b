import { credentialHeaders } from "../core/authorized-fetch.js";
import { describeError } from "../core/errors.js";
import { fetchModels } from "../core/models/fetch-models.js";
import { toOpencodeModels } from "../core/models/settings.js";
import type { DiscoveredModel, OpencodeModel } from "../core/models/types.js";
import { ModelCache } from "../store/model-cache.js";
import type { PresetRuntime } from "./preset-runtime.js";

export type ModelSource = "cache" | "gateway" | "static" | "none";

export interface ModelListing {
  models: Record<string, OpencodeModel>;
  source: ModelSource;
  /** When the list was fetched from the gateway (epoch ms), for cache and gateway sources. */
  fetchedAt?: number;
  /** Why the gateway could not be asked (no login yet, unreachable, ...). */
  problem?: string;
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
 * Models for OpenCode without ever blocking it for long: a fresh cache answers at once; a stale
 * cache answers at once and refreshes in the background; with no cache the gateway is asked with a
 * bounded timeout; when that fails, the preset's static list.
 */
export async function listModels(rt: PresetRuntime, options: ListModelsOptions = {}): Promise<ModelListing> {
  const { discovery, models: rules } = rt.preset;
  const settings = { allow: discovery.allow, deny: discovery.deny, rules };
  const cache = new ModelCache(rt.paths.cacheDir, rt.preset.id, rt.preset.provider.baseURL);
  const cached = cache.read();
  const now = options.now ?? Date.now();
  const shape = (models: DiscoveredModel[]) => toOpencodeModels(models, settings);
  if (cached && !options.refresh) {
    const fresh = now - cached.fetchedAt < discovery.cacheTtlSeconds * 1000;
    const listing: ModelListing = {
      models: shape(cached.models),
      source: "cache",
      fetchedAt: cached.fetchedAt,
    };
    if (!fresh) {
      listing.refreshing = refreshCache(rt, cache, discovery.timeoutMs * 4).then(
        () => undefined,
        () => undefined,
      );
    }
    return listing;
  }
  try {
    const models = await refreshCache(rt, cache, options.timeoutMs ?? discovery.timeoutMs);
    return { models: shape(models), source: "gateway", fetchedAt: now };
  } catch (error) {
    const problem = describeError(error).split("\n")[0];
    rt.logger.log("warn", `model discovery failed: ${problem}`, { cached: cached !== undefined });
    if (cached)
      return { models: shape(cached.models), source: "cache", fetchedAt: cached.fetchedAt, problem };
    if (discovery.static.length > 0) return { models: shape(discovery.static), source: "static", problem };
    return { models: {}, source: "none", problem };
  }
}

async function refreshCache(
  rt: PresetRuntime,
  cache: ModelCache,
  timeoutMs: number,
): Promise<DiscoveredModel[]> {
  const signal = AbortSignal.timeout(timeoutMs);
  const credential = await rt.credential(signal);
  if (!credential) throw new Error(`not logged in to ${rt.preset.name}`);
  const { discovery, provider } = rt.preset;
  const models = await fetchModels({
    baseURL: provider.baseURL,
    path: discovery.path,
    metadataPath: discovery.metadataPath,
    headers: credentialHeaders(credential),
    fetch: rt.fetch,
    signal,
  });
  await cache.write(models);
  rt.logger.log("info", "models discovered", { count: models.length, baseURL: provider.baseURL });
  return models;
}
