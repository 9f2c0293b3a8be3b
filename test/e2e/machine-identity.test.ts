/**
 * Machine identities as CI uses them: a fresh HOME with only environment variables set, no login,
 * then `opencode run` on the real OpenCode binary → the gateway sees a valid Bearer token whose
 * client is the machine client. One test per identity (client secret, private_key_jwt, client
 * assertion, token exchange); expiry → a new grant; a bad secret → an error naming the variable;
 * four CLI processes at once → one grant; `status` names the identity.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { run } from "../support/child-processes.js";
import { type OpencodeHome, runOpencode, stripAnsi } from "./support/opencode.js";
import { CLI, pluginHome } from "./support/plugin-home.js";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

let box: Sandbox;
const homes: OpencodeHome[] = [];

beforeAll(async () => {
  box = await startSandbox();
});
afterAll(async () => {
  await box?.close();
  await Promise.all(homes.map((h) => h.cleanup()));
});

async function ciHome(env: Record<string, string>): Promise<OpencodeHome> {
  const h = await pluginHome(box, { env });
  homes.push(h);
  return h;
}

const credentialFile = async (h: OpencodeHome, name: string, content: string) => {
  const path = join(h.dir, name);
  await writeFile(path, content, { mode: 0o600 });
  return path;
};

const tokenFile = (h: OpencodeHome) => join(h.env.XDG_CONFIG_HOME as string, "opencode-auth", "tokens.json");
const logFile = (h: OpencodeHome) =>
  join(h.env.XDG_CONFIG_HOME as string, "opencode-auth", "log", "okta-auth.log");

/** `opencode run` and the gateway's view of its chat requests. */
async function chat(h: OpencodeHome) {
  const before = box.gateway.requests.length;
  const result = await runOpencode(["run", "-m", "haiiloAi/gpt-4o-mini", "hi"], { home: h });
  const chats = box.gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
  return { result, output: stripAnsi(result.stdout + result.stderr), chats };
}

const grants = () => box.idp.counts.clientCredentialsGrant + box.idp.counts.tokenExchangeGrant;

describe("opencode run in a fresh HOME with only a machine identity in the environment", () => {
  const cases: Array<{
    name: string;
    client: () => string;
    env: (h: OpencodeHome) => Promise<Record<string, string>>;
  }> = [
    {
      name: "OPENCODE_OIDC_CLIENT_SECRET (client credentials, client_secret_basic)",
      client: () => box.idp.machine.secretBasic.clientId,
      env: async () => ({
        OPENCODE_OIDC_CLIENT_ID: box.idp.machine.secretBasic.clientId,
        OPENCODE_OIDC_CLIENT_SECRET: box.idp.machine.secretBasic.clientSecret,
      }),
    },
    {
      name: "OPENCODE_OIDC_PRIVATE_KEY_FILE (private_key_jwt, PEM)",
      client: () => box.idp.machine.privateKeyJwt.clientId,
      env: async (h) => ({
        OPENCODE_OIDC_CLIENT_ID: box.idp.machine.privateKeyJwt.clientId,
        OPENCODE_OIDC_PRIVATE_KEY_FILE: await credentialFile(
          h,
          "key.pem",
          box.idp.machine.privateKeyJwt.privateKeyPem,
        ),
      }),
    },
    {
      name: "OPENCODE_OIDC_CLIENT_ASSERTION_FILE (a workload identity token as client assertion)",
      client: () => box.idp.machine.assertion.clientId,
      env: async (h) => ({
        OPENCODE_OIDC_CLIENT_ID: box.idp.machine.assertion.clientId,
        OPENCODE_OIDC_CLIENT_ASSERTION_FILE: await credentialFile(
          h,
          "assertion.jwt",
          await box.idp.machine.assertion.mint(),
        ),
      }),
    },
    {
      name: "OPENCODE_OIDC_SUBJECT_TOKEN_FILE (RFC 8693 token exchange)",
      client: () => box.idp.machine.exchange.clientId,
      env: async (h) => ({
        OPENCODE_OIDC_CLIENT_ID: box.idp.machine.exchange.clientId,
        OPENCODE_OIDC_SUBJECT_TOKEN_FILE: await credentialFile(
          h,
          "subject.jwt",
          await box.idp.machine.exchange.mintSubjectToken(),
        ),
      }),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: bearer-ok with the machine client's token, no login step`, async () => {
      const probe = await ciHome({});
      const h = await ciHome(await c.env(probe));
      const before = grants();
      const { result, output, chats } = await chat(h);
      expect(result.code, output).toBe(0);
      expect(output).toContain("Hello from gpt-4o-mini");
      expect(chats.length).toBeGreaterThanOrEqual(1);
      for (const request of chats)
        expect(request).toMatchObject({
          auth: "bearer",
          allowed: true,
          status: 200,
          client: c.client(),
          aud: box.idp.audience,
        });
      // One grant served model discovery and both chat requests (the token is cached in the store).
      expect(grants() - before).toBe(1);
    });
  }

  it("the machine token expires: the next run obtains a new one through the Session; status names the identity", async () => {
    const h = await ciHome({
      OPENCODE_OIDC_CLIENT_ID: box.idp.machine.secretBasic.clientId,
      OPENCODE_OIDC_CLIENT_SECRET: box.idp.machine.secretBasic.clientSecret,
    });
    expect((await chat(h)).result.code).toBe(0);
    const store = JSON.parse(await readFile(tokenFile(h), "utf8"));
    const [id, entry] = Object.entries(store.sessions)[0] as [
      string,
      { accessToken: string; expiresAt: number },
    ];
    expect(id).toMatch(/\|machine:client_secret$/);
    const old = entry.accessToken;
    entry.expiresAt = Date.now() - 1000;
    await writeFile(tokenFile(h), JSON.stringify(store));
    const before = box.idp.counts.clientCredentialsGrant;
    const second = await chat(h);
    expect(second.result.code, second.output).toBe(0);
    expect(box.idp.counts.clientCredentialsGrant).toBe(before + 1);
    expect(second.chats.every((r) => r.allowed && r.client === box.idp.machine.secretBasic.clientId)).toBe(
      true,
    );
    const renewed = JSON.parse(await readFile(tokenFile(h), "utf8")).sessions[id];
    expect(renewed.accessToken).not.toBe(old);
    expect(JSON.stringify(renewed)).not.toContain(box.idp.machine.secretBasic.clientSecret);

    const status = await run(process.execPath, [CLI, "status", "--json"], { env: h.env, cwd: h.projectDir });
    expect(JSON.parse(status.stdout)).toMatchObject({
      identity: "machine",
      loggedIn: false,
      machine: {
        kind: "client_secret",
        clientId: box.idp.machine.secretBasic.clientId,
        variables: ["OPENCODE_OIDC_CLIENT_SECRET", "OPENCODE_OIDC_CLIENT_ID"],
      },
    });
    const text = await run(process.execPath, [CLI, "status"], { env: h.env, cwd: h.projectDir });
    expect(text.stdout).toContain(
      "Identity:  machine: client credentials (client secret) as client sandbox-machine",
    );
    expect(text.stdout + text.stderr).not.toContain(box.idp.machine.secretBasic.clientSecret);
  });

  it("a bad secret: the request fails with an error naming OPENCODE_OIDC_CLIENT_SECRET (never the secret), in OpenCode and the CLI", async () => {
    const good = {
      OPENCODE_OIDC_CLIENT_ID: box.idp.machine.secretBasic.clientId,
      OPENCODE_OIDC_CLIENT_SECRET: box.idp.machine.secretBasic.clientSecret,
    };
    const h = await ciHome(good);
    expect((await chat(h)).result.code).toBe(0); // models cached, as on a runner whose secret was then rotated
    const wrong = "rotated-away-secret-value";
    h.env.OPENCODE_OIDC_CLIENT_SECRET = wrong;
    const store = JSON.parse(await readFile(tokenFile(h), "utf8"));
    store.sessions = {};
    await writeFile(tokenFile(h), JSON.stringify(store));
    const sent = box.gateway.requests.length;
    const failed = await chat(h);
    expect(failed.result.code).not.toBe(0);
    expect(failed.output).toContain("OPENCODE_OIDC_CLIENT_SECRET");
    expect(failed.output).toContain("invalid_client");
    expect(failed.output).not.toContain(wrong);
    expect(box.gateway.requests.slice(sent).filter((r) => r.path === "/v1/chat/completions")).toEqual([]);

    const token = await run(process.execPath, [CLI, "token"], { env: h.env, cwd: h.projectDir });
    expect(token.code).toBe(1);
    expect(token.stdout).toBe("");
    expect(token.stderr).toContain("OPENCODE_OIDC_CLIENT_SECRET");
    expect(token.stderr).toContain("(code MACHINE_IDENTITY_REJECTED)");
    expect(token.stderr).not.toContain(wrong);
    expect(await readFile(logFile(h), "utf8")).not.toContain(wrong);
  });

  it("four processes at once (opencode-oidc token ×4): one grant, one token", async () => {
    const h = await ciHome({
      OPENCODE_OIDC_CLIENT_ID: box.idp.machine.privateKeyJwt.clientId,
      OPENCODE_OIDC_PRIVATE_KEY_FILE: await credentialFile(
        await ciHome({}),
        "jwk.json",
        JSON.stringify(box.idp.machine.privateKeyJwt.privateJwk),
      ),
    });
    const before = box.idp.counts.clientCredentialsGrant;
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, [CLI, "token"], { env: h.env, cwd: h.projectDir }),
      ),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(new Set(results.map((r) => r.stdout.trim())).size).toBe(1);
    expect(box.idp.counts.clientCredentialsGrant).toBe(before + 1);
  });
});
