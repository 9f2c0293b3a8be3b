/**
 * The doctor's verdicts that need no server: clock offsets from Date headers (thresholds, missing
 * headers, the 1 s resolution), the grants an issuer advertises, and the report's text form.
 */
import type * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { renderReport } from "../../src/cli/commands/doctor.js";
import { DOCTOR } from "../../src/core/defaults.js";
import { grantsCheck } from "../../src/tenant/doctor/idp-checks.js";
import { clockCheck } from "../../src/tenant/doctor/local-checks.js";
import { presetCheck } from "../../src/tenant/doctor/preset-check.js";
import type { DateSample } from "../../src/tenant/doctor/report.js";
import { resolveTenants } from "../../src/tenant/resolve-tenants.js";

/** A sample whose server clock is `offsetMs` behind the local one (20 ms round trip). */
function sample(source: DateSample["source"], offsetMs: number): DateSample {
  const sentAt = 1_800_000_000_000;
  const receivedAt = sentAt + 20;
  const server = (sentAt + receivedAt) / 2 - offsetMs;
  return {
    source,
    url: "http://127.0.0.1/x",
    sentAt,
    receivedAt,
    serverAt: Math.floor(server / 1000) * 1000,
  };
}

describe("doctor: clock", () => {
  it.each([
    [0, "pass"],
    [(DOCTOR.clockPassSeconds - 2) * 1000, "pass"],
    [(DOCTOR.clockPassSeconds + 2) * 1000, "warn"],
    [-(DOCTOR.clockPassSeconds + 2) * 1000, "warn"],
    [(DOCTOR.clockFailSeconds + 2) * 1000, "fail"],
    [-10 * 60_000, "fail"],
  ])("local clock %i ms off the gateway: %s", (offset, status) => {
    expect(clockCheck([sample("idp", 0), sample("gateway", offset)]).status).toBe(status);
  });

  it("names the worse server, the direction and minutes", () => {
    const check = clockCheck([sample("idp", 0), sample("gateway", -10 * 60_000)]);
    expect(check.summary).toMatch(
      /^This machine's clock is (9 min 59|10 min 0|10 min 1) s behind the gateway\.$/,
    );
  });

  it("without any Date header it warns that nothing was compared; one missing header is said", () => {
    const bare = { ...sample("idp", 0), serverAt: undefined };
    expect(clockCheck([bare]).status).toBe("warn");
    expect(clockCheck([bare, sample("gateway", 0)]).details).toContain("the IdP: sent no Date header");
    expect(clockCheck([]).summary).toMatch(/^Not checked/);
  });
});

const DEVICE = "urn:ietf:params:oauth:grant-type:device_code";

describe("doctor: grants", () => {
  async function tenant(preset: Record<string, unknown> = {}) {
    const { primary } = await resolveTenants(
      {
        configFiles: false,
        pluginOptions: {
          presets: [
            { id: "haiilo", oidc: { issuer: "https://sso.example.com/api/oidc", clientId: "c", ...preset } },
          ],
        },
      },
      { env: {} },
    );
    if (!primary) throw new Error("no tenant");
    return primary;
  }
  // What glewlwyd 2.7.5 publishes (see docs/idps.md#glewlwyd).
  const glewlwyd = {
    issuer: "https://sso.example.com/api/oidc",
    token_endpoint: "https://sso.example.com/api/oidc/token",
    device_authorization_endpoint: "https://sso.example.com/api/oidc/device_authorization",
    revocation_endpoint: "https://sso.example.com/api/oidc/revoke",
    revocation_endpoint_auth_methods_supported: ["client_secret_basic"],
    grant_types_supported: ["authorization_code", "implicit", "urn:ietf:params:oauth:grant-type:device_code"],
  } as oauth.AuthorizationServer;

  it("warns about an unadvertised refresh grant and an RFC 7009 endpoint that refuses public clients", async () => {
    const check = grantsCheck(await tenant(), glewlwyd);
    expect(check.status).toBe("warn");
    expect(check.details).toContain("warn: refresh_token is not in grant_types_supported.");
    expect(check.details?.join("\n")).toMatch(/accepts client_secret_basic but not "none"/);
  });

  it("with the glewlwyd profile (delete_token revocation) only the refresh grant's absence is left", async () => {
    const check = grantsCheck(await tenant({ profile: "glewlwyd" }), glewlwyd);
    expect(check.details?.filter((d) => d.startsWith("warn:"))).toEqual([
      "warn: refresh_token is not in grant_types_supported.",
    ]);
  });

  it("fails when the device login is offered and there is no device endpoint", async () => {
    const { device_authorization_endpoint: _, ...without } = glewlwyd;
    const check = grantsCheck(await tenant(), without as oauth.AuthorizationServer);
    expect(check.status).toBe("fail");
    expect(check.fix).toMatch(/oidc\.endpoints\.deviceAuthorization/);
  });
});

describe("doctor: grants of the browser login and of machine identities", () => {
  async function tenant(auth: Record<string, unknown>, env: Record<string, string> = {}) {
    const { primary } = await resolveTenants(
      {
        configFiles: false,
        pluginOptions: {
          presets: [
            {
              id: "haiilo",
              oidc: { profile: "glewlwyd", issuer: "https://sso.example.com/api/oidc", clientId: "c" },
              auth,
            },
          ],
        },
      },
      { env },
    );
    if (!primary) throw new Error("no tenant");
    return primary;
  }
  const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
  const issuer = (grants: string[], more: Partial<oauth.AuthorizationServer> = {}) =>
    ({
      issuer: "https://sso.example.com/api/oidc",
      token_endpoint: "https://sso.example.com/api/oidc/token",
      authorization_endpoint: "https://sso.example.com/api/oidc/auth",
      device_authorization_endpoint: "https://sso.example.com/api/oidc/device_authorization",
      grant_types_supported: grants,
      ...more,
    }) as oauth.AuthorizationServer;
  const browserOnly = { deviceFlow: { enabled: false }, browser: { enabled: true } };
  const warnings = (check: { details?: string[] }) => check.details?.filter((d) => d.startsWith("warn:"));

  it("the browser login: authorization_code advertised passes, unadvertised is a warning, no endpoint a failure", async () => {
    const t = await tenant(browserOnly);
    const ok = grantsCheck(t, issuer(["authorization_code", "refresh_token"]));
    expect(ok.status).toBe("pass");
    expect(ok.details).toContain("pass: browser login: https://sso.example.com/api/oidc/auth");

    const unlisted = grantsCheck(t, issuer(["refresh_token"]));
    expect(unlisted.status).toBe("warn");
    expect(warnings(unlisted)).toEqual(["warn: authorization_code is not in grant_types_supported."]);
    expect(unlisted.fix).toMatch(/glewlwyd/);

    const { authorization_endpoint: _, ...none } = issuer(["authorization_code", "refresh_token"]);
    const missing = grantsCheck(t, none as oauth.AuthorizationServer);
    expect(missing.status).toBe("fail");
    expect(missing.fix).toMatch(/oidc\.endpoints\.authorization/);

    const plain = grantsCheck(
      t,
      issuer(["authorization_code", "refresh_token"], { code_challenge_methods_supported: ["plain"] }),
    );
    expect(warnings(plain)).toEqual([
      "warn: code_challenge_methods_supported lists plain but not S256, which the browser login sends.",
    ]);
  });

  it("the browser login off: authorization_code is not looked at", async () => {
    const check = grantsCheck(await tenant({}), issuer([DEVICE, "refresh_token"]));
    expect(check.status).toBe("pass");
    expect(check.details?.join("\n")).not.toMatch(/authorization_code|browser/);
  });

  it("a machine identity with a client secret needs client_credentials; unadvertised is a warning", async () => {
    const t = await tenant({}, { OPENCODE_OIDC_CLIENT_SECRET: "machine-secret-value" });
    const ok = grantsCheck(t, issuer([DEVICE, "refresh_token", "client_credentials"]));
    expect(ok.status).toBe("pass");
    expect(ok.details).toContain(
      "pass: machine identity: client credentials (client secret), the client_credentials grant",
    );
    const unlisted = grantsCheck(t, issuer([DEVICE, "refresh_token", TOKEN_EXCHANGE]));
    expect(unlisted.status).toBe("warn");
    expect(warnings(unlisted)).toEqual(["warn: client_credentials is not in grant_types_supported."]);
    expect(JSON.stringify(unlisted)).not.toContain("machine-secret-value");
  });

  it("a machine identity with a subject token needs token exchange", async () => {
    const t = await tenant({}, { OPENCODE_OIDC_SUBJECT_TOKEN_FILE: "/run/secrets/subject.jwt" });
    const ok = grantsCheck(t, issuer([DEVICE, "refresh_token", TOKEN_EXCHANGE]));
    expect(ok.status).toBe("pass");
    expect(ok.details).toContain(
      `pass: machine identity: token exchange (RFC 8693), the ${TOKEN_EXCHANGE} grant`,
    );
    const unlisted = grantsCheck(t, issuer([DEVICE, "refresh_token", "client_credentials"]));
    expect(warnings(unlisted)).toEqual([`warn: ${TOKEN_EXCHANGE} is not in grant_types_supported.`]);
  });

  it("no machine identity variables, or machine identities switched off: no machine grant is looked at", async () => {
    const none = grantsCheck(await tenant({}), issuer([DEVICE, "refresh_token"]));
    expect(none.status).toBe("pass");
    const off = grantsCheck(
      await tenant({ machine: { enabled: false } }, { OPENCODE_OIDC_CLIENT_SECRET: "s" }),
      issuer([DEVICE, "refresh_token"]),
    );
    expect(off.status).toBe("pass");
    expect(off.details?.join("\n")).not.toMatch(/machine|client_credentials/);
  });

  it("contradictory machine identity variables are a failure that names them, not their values", async () => {
    const t = await tenant(
      {},
      { OPENCODE_OIDC_CLIENT_SECRET: "machine-secret-value", OPENCODE_OIDC_PRIVATE_KEY_FILE: "/k.pem" },
    );
    const check = grantsCheck(t, issuer([DEVICE, "refresh_token", "client_credentials"]));
    expect(check.status).toBe("fail");
    expect(check.summary).toMatch(/OPENCODE_OIDC_CLIENT_SECRET, OPENCODE_OIDC_PRIVATE_KEY_FILE/);
    expect(check.fix).toMatch(/only one/);
    expect(JSON.stringify(check)).not.toContain("machine-secret-value");
  });
});

describe("doctor: preset", () => {
  it("names the layer of each field, and shows a credential-like field as set without its value", async () => {
    const { primary } = await resolveTenants(
      {
        configFiles: false,
        pluginOptions: {
          presets: [{ id: "haiilo", oidc: { issuer: "https://sso.example.com/x", clientId: "c" } }],
        },
      },
      { env: {} },
    );
    if (!primary) throw new Error("no tenant");
    // As a preset with a client secret (a field of the IdP profiles) would resolve.
    const withSecret = Object.assign(Object.create(primary), {
      preset: { ...primary.preset, oidc: { ...primary.preset.oidc, clientSecret: "s3cr3t-value" } },
      resolved: {
        ...primary.resolved,
        origins: {
          ...primary.resolved.origins,
          "/oidc/clientSecret": { source: "env IDP_SECRET", pointer: "" },
        },
      },
    });
    const check = presetCheck(
      undefined,
      withSecret,
      ["haiilo"],
      [],
      ["bundled presets/haiilo.json", "plugin options"],
    );
    expect(check.status).toBe("pass");
    expect(check.details).toContain("/oidc/issuer = https://sso.example.com/x  ← plugin options");
    expect(check.details).toContain("/oidc/clientSecret = (set, not shown)  ← env IDP_SECRET");
    expect(JSON.stringify(check)).not.toContain("s3cr3t-value");
  });
});

describe("doctor: text report", () => {
  it("one line per check, details indented, a fix arrow only where something is wrong, and a count", () => {
    const text = renderReport(
      {
        preset: "haiilo",
        ms: 12,
        ok: false,
        counts: { pass: 1, warn: 0, fail: 1 },
        checks: [
          { id: "preset", status: "pass", summary: "fine", details: ["layers: bundled"], fix: "unused" },
          { id: "discovery", status: "fail", summary: "down", fix: "start it" },
        ],
      },
      new Date("2026-01-01T00:00:00Z"),
    );
    expect(text.split("\n")).toEqual([
      `opencode-oidc doctor: preset haiilo, 2026-01-01T00:00:00.000Z, node ${process.version} ${process.platform}-${process.arch}, 12 ms`,
      "",
      "PASS  preset     fine",
      "                 layers: bundled",
      "FAIL  discovery  down",
      "                 → start it",
      "",
      "2 checks: 1 pass, 0 warn, 1 fail",
    ]);
  });
});
