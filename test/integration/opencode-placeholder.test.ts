/**
 * The placeholder entry of a provider that has no model list (OpenCode drops a provider without
 * models): what the config hook puts in, and what a message to it is answered with, against the
 * sandbox's real IdP and gateway. A message to the placeholder never reaches the gateway.
 */
import type { Config } from "@opencode-ai/plugin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/core/errors.js";
import { injectProviders } from "../../src/opencode/config-hook.js";
import { PLACEHOLDER_MODEL, PLACEHOLDER_MODEL_ID } from "../../src/opencode/placeholder.js";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import type { Tenant } from "../../src/tenant/tenant.js";
import { quickLogin, type TempHome, tempHome } from "../support/engine-fixtures.js";
import { sandboxRuntime } from "../support/faults-fixtures.js";

let box: Sandbox;
const homes: TempHome[] = [];
beforeAll(async () => {
  box = await startSandbox();
});
afterAll(async () => {
  await box?.close();
  for (const h of homes) h.cleanup();
});

async function freshTenant(): Promise<Tenant> {
  const home = tempHome();
  homes.push(home);
  return sandboxRuntime(box, home);
}

const chats = () => box.gateway.requests.filter((r) => r.path.endsWith("/chat/completions")).length;

async function ask(config: Config, tenant: Tenant, model: string) {
  const provider = config.provider?.[tenant.preset.provider.id];
  const send = provider?.options?.fetch as typeof fetch;
  const response = await send(`${box.gateway.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { error?: { message: string; code: string } },
  };
}

describe("the provider before any model list", () => {
  it("no login: only the connect entry; a message to it says how to connect, and nothing is sent", async () => {
    const tenant = await freshTenant();
    const config: Config = {};
    await injectProviders(config, [tenant]);
    const provider = config.provider?.[tenant.preset.provider.id];
    expect(provider?.models).toEqual({ [PLACEHOLDER_MODEL_ID]: PLACEHOLDER_MODEL });
    expect(provider?.name).toBe("Haiilo AI (gke)");

    const before = chats();
    const { status, body } = await ask(config, tenant, PLACEHOLDER_MODEL_ID);
    expect(status).toBe(401);
    expect(body.error?.code).toBe(ErrorCode.NOT_LOGGED_IN);
    expect(body.error?.message).toContain("Haiilo AI (gke) is not connected yet");
    expect(body.error?.message).toContain(
      "Connect in OpenCode: /connect (or Ctrl+P → Connect provider), choose Haiilo AI (gke), then Okta Device Flow or Manual API Key",
    );
    expect(chats()).toBe(before);
  });

  it("a login made after OpenCode loaded the plugin: the entry says OpenCode must load again", async () => {
    const tenant = await freshTenant();
    const config: Config = {};
    await injectProviders(config, [tenant]);
    await tenant.session().save(await quickLogin(box.idp));
    const before = chats();
    const { status, body } = await ask(config, tenant, PLACEHOLDER_MODEL_ID);
    expect(status).toBe(404);
    expect(body.error?.code).toBe(ErrorCode.GATEWAY_UNAVAILABLE);
    expect(body.error?.message).toContain("was connected after OpenCode started");
    expect(body.error?.message).toContain("Start OpenCode again");
    expect(chats()).toBe(before);
  });

  it("the config's default model is listed next to it and goes the normal way (here: with the login)", async () => {
    const tenant = await freshTenant();
    const config: Config = { model: "haiiloAi/gpt-4o-mini" };
    await injectProviders(config, [tenant]);
    expect(Object.keys(config.provider?.haiiloAi?.models ?? {}).sort()).toEqual([
      "gpt-4o-mini",
      PLACEHOLDER_MODEL_ID,
    ]);
    const refused = await ask(config, tenant, "gpt-4o-mini");
    expect(refused.body.error?.code).toBe(ErrorCode.NOT_LOGGED_IN);
    await tenant.session().save(await quickLogin(box.idp));
    const before = chats();
    const answered = await ask(config, tenant, "gpt-4o-mini");
    expect(answered.status).toBe(200);
    expect(chats()).toBe(before + 1);
  });

  it("models written by hand: no placeholder next to them", async () => {
    const tenant = await freshTenant();
    const config: Config = { provider: { haiiloAi: { models: { mine: { name: "Mine" } } } } };
    await injectProviders(config, [tenant]);
    expect(Object.keys(config.provider?.haiiloAi?.models ?? {})).toEqual(["mine"]);
  });
});
