/** The identity provider: discovery document, the grants the preset uses, the JWKS. */
import type * as oauth from "oauth4webapi";
import { DOCTOR } from "../../core/defaults.js";
import { describeError, isOidcError } from "../../core/errors.js";
import { urlProblem } from "../../core/loopback.js";
import { discover } from "../../core/oauth/discovery.js";
import { MACHINE_KIND_LABELS, type MachineIdentity } from "../../core/oauth/machine-identity.js";
import { TOKEN_EXCHANGE_GRANT } from "../../core/oauth/token-types.js";
import type { FetchLike } from "../../core/ports.js";
import type { Tenant } from "../tenant.js";
import { type Check, type CheckStatus, fail, pass, printable, warn } from "./report.js";

export interface IdpContext {
  fetch: FetchLike;
  signal: AbortSignal;
}

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

function requestSignal(ctx: IdpContext): AbortSignal {
  return AbortSignal.any([ctx.signal, AbortSignal.timeout(DOCTOR.requestTimeoutMs)]);
}

export async function discoveryCheck(
  tenant: Tenant,
  ctx: IdpContext,
): Promise<{ check: Check; as?: oauth.AuthorizationServer }> {
  const settings = tenant.oidc;
  if (!settings)
    return {
      check: warn(
        "discovery",
        "Not checked: the preset has no issuer or client id yet.",
        "See the preset check.",
      ),
    };
  try {
    const as = await discover(settings, {
      fetch: ctx.fetch,
      signal: ctx.signal,
      timeoutMs: DOCTOR.requestTimeoutMs,
    });
    const endpoints = (
      [
        "token_endpoint",
        "device_authorization_endpoint",
        "authorization_endpoint",
        "revocation_endpoint",
        "jwks_uri",
      ] as const
    ).map((name) => `${name}: ${as[name] ? printable(as[name], 300) : "(none)"}`);
    return {
      check: pass(
        "discovery",
        `The discovery document of ${settings.issuer} answers, and its issuer matches.`,
        endpoints,
      ),
      as,
    };
  } catch (error) {
    const hint = isOidcError(error) ? error.hint : undefined;
    return {
      check: fail(
        "discovery",
        describeError(error).split("\n")[0] ?? "The discovery document cannot be read.",
        hint ??
          "Check oidc.issuer (exactly as the IdP names it) and that this machine reaches the IdP (proxy, VPN, firewall).",
      ),
    };
  }
}

interface Finding {
  status: CheckStatus;
  text: string;
  fix?: string;
}

/** The machine identity the environment sets, or the finding that says why it cannot be used. */
function machineIdentityOf(tenant: Tenant): { identity?: MachineIdentity; finding?: Finding } {
  try {
    return { identity: tenant.machineIdentity() };
  } catch (error) {
    return {
      finding: {
        status: "fail",
        text: printable(
          describeError(error).split("\n")[0] ?? "The machine identity variables are invalid.",
          300,
        ),
        fix: (isOidcError(error) && error.hint) || "Check the machine identity variables (docs/auth.md).",
      },
    };
  }
}

/**
 * Does the issuer offer what the preset will ask for: the device grant, the authorization code grant
 * of the browser login, refresh tokens, the grant of a machine identity set in the environment,
 * revocation? A grant missing from `grant_types_supported` is a warning only: some IdPs (glewlwyd)
 * leave working grants out of the list.
 */
export function grantsCheck(tenant: Tenant, as: oauth.AuthorizationServer | undefined): Check {
  if (!as) return warn("grants", "Not checked: no discovery document.", "See the discovery check.");
  const { preset } = tenant;
  const advertised = Array.isArray(as.grant_types_supported) ? as.grant_types_supported : undefined;
  const listed = advertised ? `grant_types_supported: ${printable(advertised.join(" "), 300)}` : undefined;
  const findings: Finding[] = [];
  const notAdvertised = (grant: string): Finding => ({
    status: "warn",
    text: `${grant} is not in grant_types_supported.`,
    fix: "Make sure the grant is enabled for the client at the IdP. Some IdPs (glewlwyd) leave working grants out of the list; a login settles it.",
  });

  if (preset.auth.deviceFlow.enabled) {
    const endpoint = preset.oidc.endpoints.deviceAuthorization ?? as.device_authorization_endpoint;
    if (!endpoint)
      findings.push({
        status: "fail",
        text: "The device login is offered, but the issuer publishes no device_authorization_endpoint.",
        fix: "Enable the device authorization grant at the IdP, or set oidc.endpoints.deviceAuthorization.",
      });
    else if (advertised && !advertised.includes(DEVICE_GRANT)) findings.push(notAdvertised(DEVICE_GRANT));
    else findings.push({ status: "pass", text: `device login: ${printable(endpoint, 300)}` });
  }
  if (preset.auth.browser.enabled) {
    const endpoint = preset.oidc.endpoints.authorization ?? as.authorization_endpoint;
    const challenges = as.code_challenge_methods_supported;
    if (!endpoint)
      findings.push({
        status: "fail",
        text: "The browser login is offered, but the issuer publishes no authorization_endpoint.",
        fix: "Set oidc.endpoints.authorization, or turn the browser login off (auth.browser.enabled: false).",
      });
    else if (advertised && !advertised.includes("authorization_code"))
      findings.push(notAdvertised("authorization_code"));
    else if (Array.isArray(challenges) && !challenges.includes("S256"))
      findings.push({
        status: "warn",
        text: `code_challenge_methods_supported lists ${printable(challenges.join(", "), 200)} but not S256, which the browser login sends.`,
        fix: "Allow PKCE with S256 for the client at the IdP.",
      });
    else findings.push({ status: "pass", text: `browser login: ${printable(endpoint, 300)}` });
  }
  const machine = machineIdentityOf(tenant);
  if (machine.finding) findings.push(machine.finding);
  if (machine.identity) {
    const grant = machine.identity.kind === "token_exchange" ? TOKEN_EXCHANGE_GRANT : "client_credentials";
    if (advertised && !advertised.includes(grant)) findings.push(notAdvertised(grant));
    else
      findings.push({
        status: "pass",
        text: `machine identity: ${MACHINE_KIND_LABELS[machine.identity.kind]}, the ${grant} grant`,
      });
  }
  if (preset.oidc.scopes.includes("offline_access")) {
    if (advertised && !advertised.includes("refresh_token")) findings.push(notAdvertised("refresh_token"));
    else findings.push({ status: "pass", text: "refresh_token grant advertised" });
  }
  if (preset.oidc.compat.revocation === "rfc7009") {
    const endpoint = preset.oidc.endpoints.revocation ?? as.revocation_endpoint;
    const methods = as.revocation_endpoint_auth_methods_supported;
    if (!endpoint)
      findings.push({
        status: "warn",
        text: "The issuer has no revocation endpoint: logout deletes the tokens here but cannot revoke them.",
        fix: "Set oidc.endpoints.revocation if the IdP has one (RFC 7009).",
      });
    else if (Array.isArray(methods) && !methods.includes("none"))
      findings.push({
        status: "warn",
        text: `The revocation endpoint accepts ${printable(methods.join(", "))} but not "none": it may refuse to revoke a public client's tokens.`,
        fix: 'If logout says "not revoked", the IdP needs another way: for glewlwyd use oidc.profile "glewlwyd" (or oidc.compat.revocation "delete-token-grant").',
      });
    else findings.push({ status: "pass", text: `revocation: ${printable(endpoint, 300)}` });
  } else {
    findings.push({
      status: "pass",
      text: `revocation: ${preset.oidc.compat.revocation} at the token endpoint`,
    });
  }

  const worst = findings.find((f) => f.status === "fail") ?? findings.find((f) => f.status === "warn");
  const details = [...findings.map((f) => `${f.status}: ${f.text}`), ...(listed ? [listed] : [])];
  if (!worst) return pass("grants", "The issuer offers the grants the preset uses.", details);
  const make = worst.status === "fail" ? fail : warn;
  return make("grants", worst.text, worst.fix ?? "", details);
}

export async function jwksCheck(
  tenant: Tenant,
  as: oauth.AuthorizationServer | undefined,
  ctx: IdpContext,
): Promise<Check> {
  const uri = tenant.preset.oidc.endpoints.jwks ?? as?.jwks_uri;
  if (!uri) {
    return as
      ? fail("jwks", "The issuer publishes no jwks_uri.", "Set oidc.endpoints.jwks to the IdP's key set URL.")
      : warn("jwks", "Not checked: no discovery document.", "See the discovery check.");
  }
  const problem = urlProblem(uri);
  if (problem)
    return fail("jwks", `The JWKS URI ${printable(uri, 300)} ${problem}.`, "Fix oidc.endpoints.jwks.");
  try {
    const response = await ctx.fetch(uri, {
      headers: { accept: "application/json" },
      signal: requestSignal(ctx),
    });
    const body = await response.arrayBuffer();
    if (!response.ok)
      return fail(
        "jwks",
        `${uri} answered HTTP ${response.status}.`,
        "The gateway cannot verify tokens without the key set; check the IdP.",
      );
    if (body.byteLength > DOCTOR.jwksMaxBytes)
      return fail("jwks", `${uri} answered more than 1 MiB.`, "Check the JWKS URI.");
    const keys = (JSON.parse(new TextDecoder().decode(body)) as { keys?: unknown }).keys;
    if (!Array.isArray(keys) || keys.length === 0)
      return fail(
        "jwks",
        `${uri} holds no keys.`,
        "Check the JWKS URI; the IdP signs tokens with a key that must be listed there.",
      );
    const described = keys
      .slice(0, 5)
      .map((k: { kid?: unknown; alg?: unknown; kty?: unknown }) =>
        printable(`${k.kty ?? "?"} ${k.alg ?? ""} kid=${k.kid ?? "(none)"}`.replace(/\s+/g, " "), 120),
      );
    return pass(
      "jwks",
      `${printable(uri, 300)} answers with ${keys.length} key${keys.length === 1 ? "" : "s"}.`,
      described,
    );
  } catch (error) {
    const timedOut = (error as Error)?.name === "TimeoutError" || (error as Error)?.name === "AbortError";
    return fail(
      "jwks",
      timedOut
        ? `${printable(uri, 300)} did not answer within ${DOCTOR.requestTimeoutMs} ms.`
        : `${printable(uri, 300)} cannot be read: ${printable((error as Error)?.message ?? error)}.`,
      "The gateway fetches this key set to verify tokens; check that the IdP is reachable.",
    );
  }
}
