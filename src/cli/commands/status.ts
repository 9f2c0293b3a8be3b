import { describeError } from "../../core/errors.js";
import { MACHINE_KIND_LABELS, type MachineIdentity } from "../../core/oauth/machine-identity.js";
import { decodeJwtClaims } from "../../core/oauth/tokens.js";
import { plainText } from "../../core/plain-text.js";
import type { Tenant } from "../../tenant/tenant.js";
import { type Command, PLUGIN_OPTIONS_OPTION, PRESET_OPTION } from "../command.js";
import { json, out } from "../io.js";
import { tenantFor } from "../tenant.js";

export const status: Command = {
  name: "status",
  usage: "status [--preset ID] [--plugin-options JSON] [--json]",
  summary:
    "Show which identity requests use (a machine identity from the environment, the login, an API key) and the login: subject, email, expiry, scopes and where the tokens are stored. Never prints a secret.",
  options: {
    ...PRESET_OPTION,
    ...PLUGIN_OPTIONS_OPTION,
    json: { type: "boolean", description: "Print JSON" },
  },
  async run(ctx) {
    const tenant = await tenantFor(ctx);
    const machine = await machineReport(tenant);
    const tokens = tenant.oidc ? await tenant.store.read(tenant.sessionKey) : undefined;
    // After the read: the first read in a process moves the store where the setting wants it.
    const where = await tenant.store.status();
    const claims = decodeJwtClaims(tokens?.idToken) ?? decodeJwtClaims(tokens?.accessToken) ?? {};
    const report = {
      preset: tenant.preset.id,
      provider: tenant.preset.provider.id,
      issuer: tenant.preset.oidc.issuer,
      clientId: tenant.preset.oidc.clientId,
      loggedIn: tokens !== undefined,
      subject: typeof claims.sub === "string" ? claims.sub : null,
      email: typeof claims.email === "string" ? claims.email : null,
      expiresAt: tokens ? isoDate(tokens.expiresAt) : null,
      expired: tokens ? tokens.expiresAt <= Date.now() : null,
      refreshable: tokens ? tokens.refreshToken !== undefined : null,
      scopes: tokens?.scope?.split(" ").filter(Boolean) ?? null,
      apiKeyStored: (await tenant.store.getApiKey(tenant.preset.id)) !== undefined,
      identity: "none" as "machine" | "login" | "api-key" | "none",
      machine: machine.report,
      store: tenant.paths.tokenFile,
      /** "keyring": the file is encrypted and its key is in the OS keyring; "none": nothing stored yet. */
      storeKind: where.kind,
      tokenStore: where.mode,
      keyring: where.kind === "keyring" ? where.keyring : null,
      keyringProblem: where.keyringProblem ?? null,
      missing: tenant.resolved.missing.map((m) => m.pointer),
    };
    report.identity = machine.report
      ? "machine"
      : tokens
        ? "login"
        : report.apiKeyStored
          ? "api-key"
          : "none";
    if (ctx.values.json) {
      json({ ...report, ...(machine.problem && { machineProblem: machine.problem }) });
      return 0;
    }
    // Claims and scopes come from the IdP: each is made plain, so none can add a line or an escape.
    const p = (value: string) => plainText(value) ?? "";
    const lines = [
      `Preset:    ${p(tenant.preset.name)} (${tenant.preset.id}) → provider ${tenant.preset.provider.id}`,
    ];
    if (report.missing.length > 0)
      lines.push(
        `Missing:   ${report.missing.join(", ")} (run \`opencode-oidc login\` to see how to supply them)`,
      );
    lines.push(`Issuer:    ${report.issuer ? p(report.issuer) : "(not set)"}`);
    const m = report.machine;
    if (m) {
      lines.push(
        `Identity:  machine: ${m.grant} as client ${p(m.clientId)}, from ${m.variables.join(", ")} (used instead of any login)`,
      );
      lines.push(
        `Token:     ${m.expiresAt ? `until ${m.expiresAt}` : "none yet (obtained with the first request)"}`,
      );
    } else if (machine.problem) {
      lines.push(`Identity:  machine identity not usable: ${machine.problem}`);
    } else {
      lines.push(
        `Identity:  ${report.identity === "none" ? "none (log in, or set a machine identity)" : report.identity}`,
      );
    }
    if (report.loggedIn) {
      lines.push(
        `Logged in: yes, as ${p(report.email ?? report.subject ?? "unknown")}${report.subject && report.email ? ` (sub ${p(report.subject)})` : ""}`,
      );
      lines.push(
        `Expires:   ${report.expiresAt ?? "unknown"}${report.expired ? " (expired; refreshed on next use)" : ""}${report.refreshable ? "" : " — no refresh token"}`,
      );
      if (report.scopes) lines.push(`Scopes:    ${report.scopes.map(p).join(" ")}`);
    } else {
      lines.push("Logged in: no");
    }
    lines.push(`API key:   ${report.apiKeyStored ? "stored" : "none"}`);
    const place =
      where.kind === "keyring"
        ? `OS keyring: ${report.store} is encrypted, its key is in ${where.keyring.name} (service ${where.keyring.service}, account ${where.keyring.account})`
        : `file: ${report.store}${where.kind === "none" ? " (nothing stored yet)" : " (mode 0600)"}`;
    lines.push(`Store:     ${place}`);
    lines.push(
      `Setting:   tokenStore ${where.mode}${where.keyringProblem ? ` (no OS keyring: ${where.keyringProblem})` : ""}`,
    );
    out(lines.join("\n"));
    return 0;
  },
};

/** An ISO date, or null for a time no date can show (a store written before lifetimes were capped). */
function isoDate(ms: number): string | null {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

interface MachineReport {
  kind: MachineIdentity["kind"];
  grant: string;
  clientId: string;
  variables: string[];
  expiresAt: string | null;
}

/** The machine identity the environment sets, if any, and its cached token's expiry (no secret). */
async function machineReport(tenant: Tenant): Promise<{ report: MachineReport | null; problem?: string }> {
  let identity: MachineIdentity | undefined;
  try {
    identity = tenant.machineIdentity();
  } catch (error) {
    return { report: null, problem: describeError(error).split("\n")[0] };
  }
  if (!identity) return { report: null };
  const stored = tenant.preset.oidc.issuer ? await tenant.store.read(tenant.machineSession().key) : undefined;
  return {
    report: {
      kind: identity.kind,
      grant: MACHINE_KIND_LABELS[identity.kind],
      clientId: identity.clientId,
      variables: identity.variables,
      expiresAt: stored ? isoDate(stored.expiresAt) : null,
    },
  };
}
