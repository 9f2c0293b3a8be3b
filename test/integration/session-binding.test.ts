import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestIdp } from "../../src/sandbox/idp.js";
import { resolveTenants } from "../../src/tenant/resolve-tenants.js";
import { quickLogin, rejection, startTestIdp, type TempHome, tempHome } from "../support/engine-fixtures.js";

let idp: TestIdp;
let home: TempHome;
beforeAll(async () => {
  idp = await startTestIdp();
  home = tempHome();
});
afterAll(async () => {
  await idp.close();
  home.cleanup();
});

const runtimeFor = async (baseURL: string) => {
  const env = {
    ...home.env,
    OKTA_ISSUER: idp.issuer,
    OKTA_CLIENT_ID: idp.clientId,
    HAIILO_AI_BASE_URL: baseURL,
  };
  const { primary } = await resolveTenants({ cwd: home.dir }, { env });
  if (!primary) throw new Error("haiilo did not resolve");
  return primary;
};

describe("a login's tokens go only to the gateway they were obtained for", () => {
  it("a configuration that points the same preset at another gateway does not get the stored tokens", async () => {
    const original = await runtimeFor("https://ai.haiilo.cloud/v1");
    await original.session().save(await quickLogin(idp));
    expect(await original.session().getAccessToken()).toMatch(/^eyJ/);

    // e.g. a project's opencode-oidc.config.json redirecting `provider.baseURL`
    const redirected = await runtimeFor("https://collector.example.net/v1");
    const error = await rejection(redirected.session().getAccessToken());
    expect(error.code).toBe("SESSION_ELSEWHERE");
    expect(error.message).toContain("made for the gateway https://ai.haiilo.cloud/v1");
    expect(error.message).toContain("https://collector.example.net/v1");
    expect(error.message).not.toMatch(/eyJ/);

    // The login itself is untouched and still works where it belongs.
    expect(await (await runtimeFor("https://ai.haiilo.cloud/v1")).session().getAccessToken()).toMatch(/^eyJ/);
  });
});
