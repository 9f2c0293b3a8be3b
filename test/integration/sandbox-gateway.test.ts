import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type Gateway, startGateway } from "../../src/sandbox/gateway.js";
import { startIdp, type TestIdp } from "../../src/sandbox/idp.js";

const API_KEY = "sk-sandbox-0123456789abcdef";

describe("sandbox gateway (Envoy-like auth in front of an OpenAI-compatible API)", () => {
  let idp: TestIdp;
  let gw: Gateway;
  let token: string;
  const logLines: string[] = [];
  const secrets: string[] = [API_KEY];

  beforeAll(async () => {
    idp = await startIdp({ scopes: ["haiiloai:inference"] });
    gw = await startGateway({
      issuer: idp.issuer,
      audiences: [idp.audience],
      jwksUri: idp.jwksUri,
      apiKeys: { "ci-bot": API_KEY },
      modelInfo: true,
      log: (l) => logLines.push(l),
    });
    token = await idp.mintAccessToken({ sub: "alice" });
    secrets.push(token);
  });
  afterAll(async () => {
    await gw.close();
    await idp.close();
    // Nothing secret ever reaches the log.
    expect(logLines.length).toBeGreaterThan(10);
    for (const secret of secrets) {
      expect(logLines.join("\n")).not.toContain(secret);
      expect(logLines.join("\n")).not.toContain(secret.slice(-16));
    }
  });

  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const chat = (headers: Record<string, string>, body: Record<string, unknown>) =>
    fetch(`${gw.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const last = () => gw.requests.at(-1);

  /** Sends a request with the given token and returns the 401 error body and the recorded reason. */
  async function rejectedToken(t: string) {
    const secret = t;
    secrets.push(secret);
    const response = await fetch(`${gw.url}/models`, { headers: bearer(t) });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer .*error="invalid_token"/);
    const body = (await response.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe("invalid_token");
    expect(last()).toMatchObject({ auth: "bearer", allowed: false, status: 401 });
    return last()?.reason;
  }

  it("serves /v1/models to a valid bearer token", async () => {
    expect(gw.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const response = await fetch(`${gw.url}/models`, { headers: bearer(token) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { object: string; data: Array<Record<string, unknown>> };
    expect(body.object).toBe("list");
    expect(body.data.map((m) => m.id)).toEqual(["gpt-4o-mini", "claude-sonnet-4", "llama-3.1-70b"]);
    expect(body.data[0]).toEqual({
      id: "gpt-4o-mini",
      object: "model",
      created: expect.any(Number),
      owned_by: "openai",
    });
    expect(last()).toEqual({
      method: "GET",
      path: "/v1/models",
      auth: "bearer",
      allowed: true,
      sub: "alice",
      aud: idp.audience,
      client: idp.clientId,
      status: 200,
    });
  });

  it("serves LiteLLM-style model info", async () => {
    for (const url of [`${gw.url}/model/info`, `${new URL(gw.url).origin}/model/info`]) {
      const response = await fetch(url, { headers: bearer(token) });
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        data: Array<{ model_name: string; model_info: Record<string, unknown> }>;
      };
      expect(body.data.find((m) => m.model_name === "claude-sonnet-4")?.model_info).toMatchObject({
        max_input_tokens: 200_000,
        max_output_tokens: 64_000,
        supports_function_calling: true,
        supports_vision: true,
        supports_reasoning: true,
        input_cost_per_token: expect.any(Number),
        output_cost_per_token: expect.any(Number),
      });
    }
  });

  it("answers a non-streaming chat completion", async () => {
    const response = await chat(bearer(token), {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi there" }],
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "gpt-4o-mini",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hello from gpt-4o-mini" },
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
    });
  });

  it("streams a chat completion as SSE ending in [DONE]", async () => {
    const response = await chat(bearer(token), {
      model: "claude-sonnet-4",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }],
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const events = (await response.text())
      .split("\n\n")
      .filter(Boolean)
      .map((e) => e.replace(/^data: /, ""));
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.model === "claude-sonnet-4")).toBe(
      true,
    );
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe("Hello from claude-sonnet-4");
    expect(chunks.find((c) => c.choices[0]?.finish_reason === "stop")).toBeTruthy();
    expect(chunks.at(-1).usage).toEqual({ prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 });
  });

  it("rejects an unknown model with 404", async () => {
    const response = await chat(bearer(token), { model: "nope", messages: [] });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "model_not_found" } });
  });

  it("rejects an expired token", async () => {
    expect(await rejectedToken(await idp.mintAccessToken({}, { expiresInSeconds: -5 }))).toBe("jwt_expired");
  });

  it("rejects a token for another audience", async () => {
    const t = await idp.mintAccessToken({}, { audience: "api://someone-else" });
    expect(await rejectedToken(t)).toBe("jwt_bad_audience");
    expect(last()?.aud).toBe("api://someone-else");
  });

  it("rejects a token from another issuer", async () => {
    expect(await rejectedToken(await idp.mintAccessToken({}, { issuer: "http://localhost:1" }))).toBe(
      "jwt_bad_issuer",
    );
  });

  it("rejects a token signed by another key", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ sub: "mallory", client_id: idp.clientId })
      .setProtectedHeader({ alg: "RS256", kid: "forged" })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    expect(await rejectedToken(forged)).toBe("jwt_bad_signature");
    // Same kid as the real key, wrong signature.
    const real = await idp.mintAccessToken();
    const [h, p] = real.split(".");
    const [, , s] = forged.split(".");
    expect(await rejectedToken(`${h}.${p}.${s}`)).toBe("jwt_bad_signature");
  });

  it("rejects a malformed token", async () => {
    expect(await rejectedToken("not-a-jwt")).toBe("jwt_malformed");
    expect(await rejectedToken("a.b.c")).toBe("jwt_malformed");
  });

  it("rejects a request with no credentials", async () => {
    const response = await fetch(`${gw.url}/models`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: "missing_credentials" },
    });
    expect(last()).toMatchObject({
      auth: "none",
      allowed: false,
      reason: "missing_credentials",
      status: 401,
    });
    // A non-Bearer Authorization header is not a credential either.
    expect(
      (await fetch(`${gw.url}/models`, { headers: { authorization: "Basic Zm9vOmJhcg==" } })).status,
    ).toBe(401);
    expect(last()?.reason).toBe("missing_credentials");
  });

  it("accepts a valid API key and rejects an invalid one", async () => {
    const ok = await fetch(`${gw.url}/models`, { headers: { "x-api-key": API_KEY } });
    expect(ok.status).toBe(200);
    expect(last()).toMatchObject({ auth: "api-key", allowed: true, client: "ci-bot", status: 200 });
    const chatOk = await chat(
      { "x-api-key": API_KEY },
      { model: "llama-3.1-70b", messages: [{ role: "user", content: "x" }] },
    );
    expect(chatOk.status).toBe(200);

    const wrong = "sk-sandbox-wrong-key-00000000";
    secrets.push(wrong);
    const bad = await fetch(`${gw.url}/models`, { headers: { "x-api-key": wrong } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: { type: "invalid_api_key" } });
    expect(last()).toMatchObject({ auth: "api-key", allowed: false, reason: "invalid_api_key" });
  });

  it("lets the Bearer decide when both credentials are sent", async () => {
    const expired = await idp.mintAccessToken({}, { expiresInSeconds: -5 });
    secrets.push(expired);
    const withBadBearer = await fetch(`${gw.url}/models`, {
      headers: { ...bearer(expired), "x-api-key": API_KEY },
    });
    expect(withBadBearer.status).toBe(401);
    expect(last()).toMatchObject({ auth: "bearer", reason: "jwt_expired" });
    const withGoodBearer = await fetch(`${gw.url}/models`, {
      headers: { ...bearer(token), "x-api-key": "sk-wrong" },
    });
    expect(withGoodBearer.status).toBe(200);
    expect(last()).toMatchObject({ auth: "bearer", allowed: true });
  });

  it("accepts an access token issued by a real device login", async () => {
    const form = (path: string, body: Record<string, string>) =>
      fetch(`${idp.issuer}${path}`, {
        method: "POST",
        body: new URLSearchParams({ client_id: idp.clientId, ...body }),
      });
    const device = (await (
      await form("/device/auth", { scope: "openid offline_access haiiloai:inference" })
    ).json()) as Record<string, string>;
    await approveDevice(device.verification_uri_complete ?? "");
    const grant = {
      grant_type: "urn:ietf:params:oauth:grant-type:device_code",
      device_code: device.device_code ?? "",
    };
    const tokens = (await (await form("/token", grant)).json()) as {
      access_token: string;
      refresh_token: string;
    };
    secrets.push(tokens.access_token, tokens.refresh_token);
    const response = await chat(bearer(tokens.access_token), {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(response.status).toBe(200);
    expect(last()).toMatchObject({ auth: "bearer", allowed: true, sub: "alice", client: idp.clientId });
  });

  it("rejects a token from another sandbox IdP (same process key, other issuer)", async () => {
    // Different sandbox IdPs in one process share the signing key; a token is still bound to its issuer.
    const other = await startIdp();
    try {
      const t = await other.mintAccessToken();
      secrets.push(t);
      expect(await rejectedToken(t)).toBe("jwt_bad_issuer");
    } finally {
      await other.close();
    }
  });

  it("injects faults on /models only, after authentication", async () => {
    try {
      gw.setFault({ status: 503, body: "upstream down" });
      const down = await fetch(`${gw.url}/models`, { headers: bearer(token) });
      expect(down.status).toBe(503);
      expect(await down.text()).toBe("upstream down");
      expect((await fetch(`${gw.url}/models`)).status).toBe(401);
      expect((await chat(bearer(token), { model: "gpt-4o-mini", messages: [] })).status).toBe(200);

      gw.setFault({ malformedJson: true });
      await expect((await fetch(`${gw.url}/models`, { headers: bearer(token) })).json()).rejects.toThrow();

      gw.setFault({ oversizedBytes: 3_000_000 });
      const big = await fetch(`${gw.url}/models`, { headers: bearer(token) });
      expect(big.headers.get("content-length")).toBeNull();
      const text = await big.text();
      expect(text.length).toBeGreaterThanOrEqual(3_000_000);
      expect(JSON.parse(text).object).toBe("list");

      gw.setFault({ delayMs: 5_000 }, "all");
      const slow = fetch(`${gw.url}/models`, { headers: bearer(token), signal: AbortSignal.timeout(50) });
      await expect(slow).rejects.toThrow();
    } finally {
      gw.setFault(null);
    }
    expect((await fetch(`${gw.url}/models`, { headers: bearer(token) })).status).toBe(200);
  });
});
