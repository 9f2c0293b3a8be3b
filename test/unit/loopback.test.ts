/**
 * M2 (issue 10): plain http only to `localhost` and literal loopback addresses. A `*.localhost`
 * name goes through DNS, and a resolver may send it — and a key in cleartext — anywhere.
 */
import { describe, expect, it } from "vitest";
import { isOidcError } from "../../src/core/errors.js";
import { clearDiscoveryCache } from "../../src/core/oauth/discovery.js";
import { refreshTokens } from "../../src/core/oauth/refresh.js";
import type { FetchLike } from "../../src/core/ports.js";
import { resolvePresets } from "../../src/presets/resolve.js";

describe("plain http only on loopback (M2)", () => {
  it("refuses http to *.localhost names in a preset, accepts localhost and literal loopback addresses", async () => {
    for (const host of [
      "gateway.localhost:8080",
      "evil.localhost",
      "localhost.:3000",
      "LOCALHOST.evil.test",
    ]) {
      const { issues } = await resolvePresets({
        configFiles: false,
        env: { OKTA_ISSUER: `http://${host}/oauth2/x`, HAIILO_AI_BASE_URL: `http://${host}/v1` },
      });
      expect(issues.map((i) => i.pointer).sort(), host).toEqual(["/oidc/issuer", "/provider/baseURL"]);
      for (const issue of issues) expect(issue.message, host).toContain("plain http");
    }
    for (const host of ["localhost:3000", "LocalHost", "127.0.0.1:8080", "127.200.3.4", "[::1]:9000"]) {
      const { issues } = await resolvePresets({
        configFiles: false,
        env: { OKTA_ISSUER: `http://${host}/oauth2/x`, HAIILO_AI_BASE_URL: `http://${host}/v1` },
      });
      expect(issues, host).toEqual([]);
    }
  });

  it("sends no token request to an http *.localhost endpoint named by the discovery document", async () => {
    clearDiscoveryCache();
    const issuer = "http://127.0.0.1:9/idp";
    const requests: string[] = [];
    const fake: FetchLike = async (input) => {
      const url = String(input instanceof Request ? input.url : input);
      requests.push(url);
      if (url.endsWith("/.well-known/openid-configuration"))
        return Response.json({ issuer, token_endpoint: "http://idp.localhost:9/token" });
      return Response.json({ access_token: "x", token_type: "bearer" });
    };
    const settings = { issuer, clientId: "c", scopes: ["openid"], audienceParam: "none" as const };
    const current = {
      accessToken: "a",
      refreshToken: "refresh-secret",
      tokenType: "bearer",
      expiresAt: 0,
      obtainedAt: 0,
    };
    const error = await refreshTokens(settings, current, { fetch: fake }).catch((e: unknown) => e);
    expect(isOidcError(error)).toBe(true);
    expect(requests).toEqual([`${issuer}/.well-known/openid-configuration`]);
    clearDiscoveryCache();
  });
});
