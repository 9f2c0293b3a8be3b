import type { Issue } from "../presets/issues.js";
import { type ResolveOptions, resolvePresets } from "../presets/resolve.js";
import { PresetRuntime, type RuntimeOptions } from "./preset-runtime.js";

export interface Runtimes {
  /** One runtime per valid preset, the default one first. */
  all: PresetRuntime[];
  primary: PresetRuntime | undefined;
  issues: Issue[];
}

export async function resolveRuntimes(
  resolve: ResolveOptions,
  runtime: RuntimeOptions = {},
): Promise<Runtimes> {
  const resolution = await resolvePresets({ env: runtime.env, ...resolve });
  const all = [...resolution.presets.values()].map((resolved) => new PresetRuntime(resolved, runtime));
  const primary = all.find((rt) => rt.preset.id === resolution.defaultId);
  if (primary) {
    all.splice(all.indexOf(primary), 1);
    all.unshift(primary);
  }
  return { all, primary, issues: resolution.issues };
}
