/**
 * `opencode-oidc doctor`: a diagnosis of one preset a person can paste into a support ticket. Every
 * check answers pass, warn or fail with what to do; no secret is part of it. Network checks have a
 * short timeout each and the whole run a bound (core/defaults.ts, DOCTOR).
 */
import type { Credential } from "../../core/authorized-fetch.js";
import { DOCTOR } from "../../core/defaults.js";
import type { FetchLike, TokenSet } from "../../core/ports.js";
import { registerSecret } from "../../core/redact.js";
import { type ResolveOptions, resolvePresets } from "../../presets/resolve.js";
import { storedApiKey } from "../credentials.js";
import { Tenant, type TenantOptions } from "../tenant.js";
import { discoveryCheck, grantsCheck, jwksCheck } from "./idp-checks.js";
import { clockCheck, storeCheck } from "./local-checks.js";
import { boundHere, gatewayCheck, tokenCheck } from "./login-checks.js";
import { presetCheck } from "./preset-check.js";
import { type Check, type DateSample, type DoctorReport, sampledFetch } from "./report.js";

export type { Check, CheckStatus, DoctorReport } from "./report.js";

export interface DoctorOptions {
  resolve: ResolveOptions;
  tenant?: TenantOptions;
  /** The preset to check; default: the configured default. */
  preset?: string;
}

/** The login as stored, or undefined (not logged in, or a store that cannot be read: the store check says why). */
async function storedLogin(tenant: Tenant): Promise<TokenSet | undefined> {
  if (!tenant.oidc) return undefined;
  try {
    const tokens = await tenant.store.read(tenant.sessionKey);
    registerSecret(tokens?.accessToken);
    registerSecret(tokens?.refreshToken);
    registerSecret(tokens?.idToken);
    return tokens;
  } catch {
    return undefined;
  }
}

/** What a request would carry right now, without refreshing: an unexpired login, else a stored API key. */
async function currentCredential(
  tenant: Tenant,
  stored: TokenSet | undefined,
): Promise<{ value?: Credential; label: string }> {
  if (stored && boundHere(tenant, stored) && stored.expiresAt > Date.now())
    return { value: { kind: "bearer", token: stored.accessToken }, label: "the stored login's access token" };
  const key = await storedApiKey(tenant).catch(() => undefined);
  const why = stored ? "the stored access token has expired" : "not logged in";
  if (key) return { value: key, label: `the stored API key; ${why}` };
  return { label: `no credentials; ${why}` };
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const started = performance.now();
  const signal = AbortSignal.timeout(DOCTOR.totalTimeoutMs);
  const resolution = await resolvePresets({ env: options.tenant?.env, ...options.resolve });
  const tenants = [...resolution.presets.values()].map((r) => new Tenant(r, options.tenant));
  const wanted = options.preset;
  const tenant = tenants.find((t) => t.preset.id === (wanted ?? resolution.defaultId));
  const checks: Check[] = [
    presetCheck(
      wanted,
      tenant,
      tenants.map((t) => t.preset.id),
      resolution.issues,
      resolution.layers,
    ),
  ];
  if (tenant) {
    const base: FetchLike = options.tenant?.fetch ?? ((input, init) => fetch(input, init));
    const samples: DateSample[] = [];
    const idp = { fetch: sampledFetch(base, "idp", samples), signal };
    const stored = await storedLogin(tenant);
    const [discovery, gateway] = await Promise.all([
      discoveryCheck(tenant, idp),
      currentCredential(tenant, stored).then((credential) =>
        gatewayCheck(tenant, credential, sampledFetch(base, "gateway", samples), signal),
      ),
    ]);
    checks.push(discovery.check, grantsCheck(tenant, discovery.as));
    checks.push(await jwksCheck(tenant, discovery.as, idp));
    checks.push(gateway, tokenCheck(tenant, stored), clockCheck(samples), await storeCheck(tenant));
  }
  const counts = { pass: 0, warn: 0, fail: 0 };
  for (const check of checks) counts[check.status] += 1;
  return {
    preset: tenant?.preset.id ?? null,
    checks,
    counts,
    ok: counts.fail === 0,
    ms: Math.round(performance.now() - started),
  };
}
