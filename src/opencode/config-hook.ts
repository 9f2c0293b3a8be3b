import type { Config } from "@opencode-ai/plugin";
import type { OpencodeModel } from "../core/models/types.js";
import { listModels } from "../runtime/model-discovery.js";
import type { PresetRuntime } from "../runtime/preset-runtime.js";

type ProviderConfig = NonNullable<Config["provider"]>[string];

/**
 * Adds each preset's provider to OpenCode's live config unless the user defined it, and fills in the
 * discovered models. What the user wrote by hand (options, models, names) always wins. Never throws.
 */
/** When the plugin module was loaded: OpenCode's wait for a gateway counts from here, not from the hook. */
const loadedAt = Date.now();

let starting = true;

/** At startup, the part of the preset's discovery timeout that loading and resolving has not used up. */
function budget(rt: PresetRuntime): { timeoutMs: number } {
  const { timeoutMs } = rt.preset.discovery;
  return { timeoutMs: starting ? Math.max(100, timeoutMs - (Date.now() - loadedAt)) : timeoutMs };
}

export async function injectProviders(
  config: Config,
  runtimes: PresetRuntime[],
  extraOptions: (rt: PresetRuntime) => Record<string, unknown> = () => ({}),
): Promise<void> {
  const listings = await Promise.all(
    runtimes.map((rt) =>
      listModels(rt, budget(rt)).catch((error: unknown) => {
        rt.logger.log("warn", "model discovery failed", { error: String(error) });
        return { models: {} as Record<string, OpencodeModel>, source: "none" as const };
      }),
    ),
  );
  starting = false;
  config.provider ??= {};
  runtimes.forEach((rt, index) => {
    const { provider } = rt.preset;
    const listing = listings[index];
    const user = (config.provider?.[provider.id] ?? {}) as ProviderConfig & Record<string, unknown>;
    const entry: Record<string, unknown> = {
      npm: provider.npm,
      name: provider.name,
      ...user,
      options: {
        baseURL: provider.baseURL,
        ...extraOptions(rt),
        ...(user.options as Record<string, unknown> | undefined),
      },
      models: { ...listing?.models, ...(user.models as Record<string, unknown> | undefined) },
    };
    (config.provider as Record<string, unknown>)[provider.id] = entry;
    rt.logger.log("debug", "provider injected", {
      provider: provider.id,
      models: Object.keys(entry.models as object).length,
      source: listing?.source,
    });
  });
}
