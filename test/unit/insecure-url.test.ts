/**
 * INSECURE_URL says what is wrong with the URL and what to do instead, naming the setting when it
 * is known: the issuer before any request, and the JWKS URI in `opencode-oidc envoy`.
 */
import { describe, expect, it } from "vitest";
import { ErrorCode, isOidcError, type OidcError } from "../../src/core/errors.js";
import { discover } from "../../src/core/oauth/discovery.js";
import type { FetchLike } from "../../src/core/ports.js";
import { renderEnvoy } from "../../src/gateway/render.js";
import { applyDefaults } from "../../src/presets/defaults.js";
import { resolvePresets } from "../../src/presets/resolve.js";
import type { PresetDocument } from "../../src/presets/types.js";
import { rejection } from "../support/engine-fixtures.js";

const settings = (issuer: string) => ({
  issuer,
  clientId: "cli",
  scopes: ["openid"],
  audience: null,
  audienceParam: "none" as const,
});

/** A fetch that fails the test if anything is sent: an insecure issuer must be refused before a request. */
const noRequest = (() => {
  throw new Error("a request was sent to an insecure URL");
}) as unknown as FetchLike;

describe("an insecure issuer is refused before any request, with a hint", () => {
  it.each<[string, string, RegExp, RegExp]>([
    [
      "plain http on a public host",
      "http://okta.example.com/oauth2/default",
      /uses plain http on okta\.example\.com/,
      /^Set oidc\.issuer to https:\/\/okta\.example\.com\/oauth2\/default if the server offers https\. Plain http is accepted only on this machine/,
    ],
    [
      "credentials in the URL",
      "https://alice:secret@okta.example.com/oauth2/default",
      /must not contain credentials/,
      /^Set oidc\.issuer to the URL without a user name or password \(https:\/\/okta\.example\.com\/oauth2\/default\)/,
    ],
    [
      "another scheme",
      "ftp://okta.example.com/x",
      /uses ftp: \(expected https\)/,
      /^Set oidc\.issuer to an https:\/\/ URL\.$/,
    ],
    [
      "not a URL",
      "okta.example.com",
      /is not a valid URL/,
      /^Set oidc\.issuer to an absolute https:\/\/ URL/,
    ],
  ])("%s", async (_, issuer, message, hint) => {
    const error = await rejection(discover(settings(issuer), { fetch: noRequest }));
    expect(error.code).toBe(ErrorCode.INSECURE_URL);
    expect(error.message).toMatch(/^The OIDC issuer /);
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(hint);
    expect(error.describe()).not.toContain("secret");
  });
});

describe("a URL with credentials is never echoed with them", () => {
  it("in a configuration problem (an env value with a password)", async () => {
    const { issues } = await resolvePresets({
      configFiles: false,
      env: { OKTA_ISSUER: "https://alice:hunter2@okta.example.com/oauth2/default" },
    });
    expect(issues).toEqual([
      {
        source: "env OKTA_ISSUER",
        pointer: "/oidc/issuer",
        message: "https://***@okta.example.com/oauth2/default must not contain credentials",
      },
    ]);
  });
});

const preset = applyDefaults({
  id: "acme",
  provider: { id: "acmeAi", baseURL: "https://ai.acme.test/v1" },
  oidc: { issuer: "https://acme.okta.test/oauth2/default", clientId: "cli", audience: "api://acme" },
} as PresetDocument);

function thrown(fn: () => unknown): OidcError {
  try {
    fn();
  } catch (error) {
    if (isOidcError(error)) return error;
    throw error;
  }
  throw new Error("expected an OidcError");
}

describe("an insecure JWKS URI in `envoy`, with a hint", () => {
  it("plain http on a public host: names --jwks-uri and oidc.endpoints.jwks and the https URL", () => {
    const error = thrown(() =>
      renderEnvoy(preset, { format: "raw", jwksUri: "http://acme.okta.test/oauth2/default/v1/keys" }),
    );
    expect(error.code).toBe(ErrorCode.INSECURE_URL);
    expect(error.hint).toMatch(
      /^Set --jwks-uri \(or oidc\.endpoints\.jwks\) to https:\/\/acme\.okta\.test\/oauth2\/default\/v1\/keys /,
    );
  });

  it("Envoy Gateway takes plain http (envoyproxy/gateway#2328); a URI that is no http(s) gets the hint", () => {
    const gateway = renderEnvoy(preset, { format: "gateway", jwksUri: "http://127.0.0.1:8080/keys" });
    expect(gateway).toMatch(/uri: http:\/\/127\.0\.0\.1:8080\/keys/);
    const error = thrown(() => renderEnvoy(preset, { format: "gateway", jwksUri: "ftp://127.0.0.1/keys" }));
    expect(error.code).toBe(ErrorCode.INSECURE_URL);
    expect(error.hint).toMatch(/--jwks-uri/);
  });
});
