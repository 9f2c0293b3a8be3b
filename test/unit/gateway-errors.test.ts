/**
 * What a person reads when model discovery fails at the gateway: GATEWAY_REJECTED and
 * GATEWAY_UNAVAILABLE name the URL and say what to check. The gateway is a fake fetch.
 */
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/core/errors.js";
import { fetchModels } from "../../src/core/models/fetch-models.js";
import type { FetchLike } from "../../src/core/ports.js";
import { rejection } from "../support/engine-fixtures.js";

const BASE = "https://ai.example.test/v1";
const BEARER = { authorization: "Bearer eyJ.payload.sig" };
const API_KEY = { "x-api-key": "sk-test-key" };

const answering = (response: () => Response): FetchLike => (async () => response()) as FetchLike;
const list = (options: { fetch: FetchLike; headers?: Record<string, string>; maxBytes?: number }) =>
  fetchModels({
    baseURL: BASE,
    path: "/models",
    metadataPath: null,
    headers: options.headers ?? BEARER,
    fetch: options.fetch,
    ...(options.maxBytes !== undefined && { maxBytes: options.maxBytes }),
  });

describe("the gateway refuses the credential", () => {
  it("401 to a login's token: GATEWAY_REJECTED with what to check about issuer, audience and scopes", async () => {
    const error = await rejection(list({ fetch: answering(() => new Response("", { status: 401 })) }));
    expect(error.code).toBe(ErrorCode.GATEWAY_REJECTED);
    expect(error.message).toBe(`The gateway refused the credentials for ${BASE}/models (HTTP 401).`);
    expect(error.hint).toMatch(/oidc\.issuer, oidc\.audience/);
    expect(error.hint).toMatch(/oidc\.scopes/);
    expect(error.hint).toMatch(/logging in again/);
  });

  it("403 to an API key: GATEWAY_REJECTED saying the key is not accepted", async () => {
    const error = await rejection(
      list({ fetch: answering(() => new Response("", { status: 403 })), headers: API_KEY }),
    );
    expect(error.code).toBe(ErrorCode.GATEWAY_REJECTED);
    expect(error.message).toMatch(/HTTP 403/);
    expect(error.hint).toMatch(/does not accept the stored API key/);
    expect(error.hint).not.toMatch(/oidc\./);
    expect(error.describe()).not.toContain(API_KEY["x-api-key"]);
  });
});

describe("the gateway's answer is not a model list", () => {
  const ok = (body: string, headers: Record<string, string> = {}) =>
    answering(
      () => new Response(body, { status: 200, headers: { "content-type": "application/json", ...headers } }),
    );
  it.each<[string, FetchLike, RegExp]>([
    ["HTTP 404", answering(() => new Response("not here", { status: 404 })), /answered HTTP 404 for/],
    ["invalid JSON", ok("<html>login page</html>"), /is not valid JSON/],
    ["JSON that is no model list", ok(JSON.stringify({ models: [] })), /is not usable/],
  ])(
    "%s: GATEWAY_REJECTED, with a hint to check provider.baseURL and discovery.path",
    async (_, fetch, message) => {
      const error = await rejection(list({ fetch }));
      expect(error.code).toBe(ErrorCode.GATEWAY_REJECTED);
      expect(error.message).toContain(`${BASE}/models`);
      expect(error.message).toMatch(message);
      expect(error.hint).toMatch(/provider\.baseURL and discovery\.path/);
    },
  );

  it("larger than the limit: GATEWAY_REJECTED, with a hint to check discovery.path or use discovery.static", async () => {
    const body = JSON.stringify({ data: [{ id: "x".repeat(200) }] });
    const error = await rejection(list({ fetch: ok(body), maxBytes: 100 }));
    expect(error.code).toBe(ErrorCode.GATEWAY_REJECTED);
    expect(error.message).toMatch(/is larger than 100 bytes/);
    expect(error.hint).toMatch(/discovery\.path/);
    expect(error.hint).toMatch(/discovery\.static/);
  });
});

describe("the gateway cannot be asked", () => {
  it("unreachable: GATEWAY_UNAVAILABLE, with a hint to check provider.baseURL and the network", async () => {
    const fetch = (async () => {
      throw new TypeError("fetch failed");
    }) as FetchLike;
    const error = await rejection(list({ fetch }));
    expect(error.code).toBe(ErrorCode.GATEWAY_UNAVAILABLE);
    expect(error.message).toBe(`The gateway cannot be reached at ${BASE}/models.`);
    expect(error.hint).toMatch(/provider\.baseURL/);
    expect(error.hint).toMatch(/network, VPN, proxy/);
  });

  it("HTTP 503: GATEWAY_UNAVAILABLE (transient), not GATEWAY_REJECTED", async () => {
    const error = await rejection(list({ fetch: answering(() => new Response("", { status: 503 })) }));
    expect(error.code).toBe(ErrorCode.GATEWAY_UNAVAILABLE);
  });
});
