import type { Issue } from "../presets/issues.js";
import { type ResolveOptions, resolvePresets } from "../presets/resolve.js";
import { Tenant, type TenantOptions } from "./tenant.js";

export interface Tenants {
  /** One tenant per valid preset, the default one first. */
  all: Tenant[];
  primary: Tenant | undefined;
  issues: Issue[];
}

/** Resolves the presets (bundled, config files, plugin options, environment) into tenants. */
export async function resolveTenants(resolve: ResolveOptions, options: TenantOptions = {}): Promise<Tenants> {
  const resolution = await resolvePresets({ env: options.env, ...resolve });
  const tenantOptions = { tokenStore: resolution.tokenStore, ...options };
  const all = [...resolution.presets.values()].map(
    (resolved) =>
      new Tenant(resolved, { ...tenantOptions, isDefault: resolved.preset.id === resolution.defaultId }),
  );
  const primary = all.find((t) => t.preset.id === resolution.defaultId);
  if (primary) {
    all.splice(all.indexOf(primary), 1);
    all.unshift(primary);
  }
  return { all, primary, issues: resolution.issues };
}
