import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { authorizedFetch, type Credential, isWithinBase } from "../../src/core/authorized-fetch.js";

/** A fake fetch that records headers and answers with the given statuses in turn. */
function recorder(statuses: number[]) {
  const seen: Headers[] = [];
  const fetch = async (_input: string | URL | Request, init?: RequestInit) => {
    seen.push(new Headers(init?.headers));
    return new Response("{}", { status: statuses[seen.length - 1] ?? 200 });
  };
  return { fetch, seen };
}

describe("authorizedFetch", () => {
  it("sets the bearer token and removes the SDK's own credential headers", async () => {
    const { fetch, seen } = recorder([200]);
    const f = authorizedFetch({
      credential: async () => ({ kind: "bearer", token: "t1" }),
      authHeaders: ["x-api-key"],
      fetch,
    });
    await f("http://gw/v1/chat", {
      headers: {
        authorization: "Bearer placeholder",
        "x-api-key": "stale",
        "content-type": "application/json",
      },
    });
    expect(seen[0]?.get("authorization")).toBe("Bearer t1");
    expect(seen[0]?.has("x-api-key")).toBe(false);
    expect(seen[0]?.get("content-type")).toBe("application/json");
  });
  it("sends an API key in its header and no Authorization", async () => {
    const { fetch, seen } = recorder([200]);
    const f = authorizedFetch({
      credential: async () => ({ kind: "api-key", header: "x-api-key", key: "sk-1" }),
      authHeaders: ["x-api-key"],
      fetch,
    });
    await f("http://gw/v1/models", { headers: { authorization: "Bearer sk-1" } });
    expect(seen[0]?.get("x-api-key")).toBe("sk-1");
    expect(seen[0]?.has("authorization")).toBe(false);
  });
  it("on a 401 renews once and retries once with the new token", async () => {
    const { fetch, seen } = recorder([401, 401, 200]);
    const renewed: Credential[] = [];
    const f = authorizedFetch({
      credential: async () => ({ kind: "bearer", token: "old" }),
      renew: async (rejected) => {
        renewed.push(rejected);
        return { kind: "bearer", token: "new" };
      },
      authHeaders: [],
      fetch,
    });
    const response = await f("http://gw/v1/chat", { method: "POST", body: "{}" });
    expect(response.status).toBe(401);
    expect(seen.map((h) => h.get("authorization"))).toEqual(["Bearer old", "Bearer new"]);
    expect(renewed).toEqual([{ kind: "bearer", token: "old" }]);
  });
  it("does not retry a request whose body is a one-shot stream", async () => {
    const { fetch, seen } = recorder([401]);
    const f = authorizedFetch({
      credential: async () => ({ kind: "bearer", token: "old" }),
      renew: async () => ({ kind: "bearer", token: "new" }),
      authHeaders: [],
      fetch,
    });
    const body = new ReadableStream({ start: (c) => c.close() });
    const response = await f("http://gw/v1/chat", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(response.status).toBe(401);
    expect(seen).toHaveLength(1);
  });
  it("never follows a redirect with the credential, and refuses URLs outside its gateway", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const other = createServer((req, res) => {
      seen.push(req.headers);
      res.end("{}");
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const gateway = createServer((_req, res) => {
      res.writeHead(307, { location: `${otherUrl}/v1/models` });
      res.end();
    });
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
    const gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/v1`;
    try {
      const f = authorizedFetch({
        credential: async () => ({ kind: "api-key", header: "x-api-key", key: "sk-redirect-test" }),
        authHeaders: ["x-api-key"],
        boundTo: gatewayUrl,
      });
      const answer = await f(`${gatewayUrl}/models`);
      expect(answer.status).toBe(307);
      await expect(f(`${otherUrl}/v1/models`)).rejects.toMatchObject({ code: "UNTRUSTED_DESTINATION" });
      await expect(f(`${gatewayUrl.replace("/v1", "/v10")}/models`)).rejects.toMatchObject({
        code: "UNTRUSTED_DESTINATION",
      });
      expect(seen).toEqual([]);
      // A Bearer token may follow the redirect, but fetch drops Authorization for the other origin.
      const bearer = authorizedFetch({
        credential: async () => ({ kind: "bearer", token: "bearer-redirect-test" }),
        authHeaders: ["x-api-key"],
        boundTo: gatewayUrl,
      });
      await bearer(`${gatewayUrl}/models`);
      expect(seen.length).toBe(1);
      expect(seen[0]?.authorization).toBeUndefined();
    } finally {
      other.close();
      gateway.close();
    }
  });
});

describe("isWithinBase: a credential's URL must be under its gateway", () => {
  const base = "https://gw.example/v1";
  it.each([
    ["https://gw.example/v1/chat/completions", true],
    ["https://gw.example/v1", true],
    ["https://gw.example/v1?x=1", true],
    ["https://gw.example/v10/models", false],
    ["https://gw.example/v1/../admin", false],
    ["https://gw.example/v1/%2e%2e/admin", false],
    ["https://gw.example.evil/v1/models", false],
    ["https://gw.example@evil/v1/models", false],
    ["https://user@gw.example/v1/models", false],
    ["http://gw.example/v1/models", false],
    ["not a url", false],
  ])("%s → %s", (url, expected) => {
    expect(isWithinBase(url, base)).toBe(expected);
  });
  it("a base with a trailing slash, and a base at the root", () => {
    expect(isWithinBase("https://gw.example/v1/models", `${base}/`)).toBe(true);
    expect(isWithinBase("https://gw.example/models", "https://gw.example")).toBe(true);
    expect(isWithinBase("https://gw.example.evil/models", "https://gw.example")).toBe(false);
  });
});
