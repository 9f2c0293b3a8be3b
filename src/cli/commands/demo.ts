import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authorizedFetch, type Credential } from "../../core/authorized-fetch.js";
import { MODEL_DISCOVERY } from "../../core/defaults.js";
import { joinUrl } from "../../core/models/fetch-models.js";
import { checkApiKey } from "../../tenant/api-key.js";
import { saveApiKey, storedApiKey } from "../../tenant/credentials.js";
import { login } from "../../tenant/login.js";
import { listModels } from "../../tenant/model-listing.js";
import { resolveTenants } from "../../tenant/resolve-tenants.js";
import type { Command } from "../command.js";
import { say } from "../io.js";
import { loadSandbox } from "./sandbox-loader.js";

const step = (n: number, text: string) => say(`\n── ${n}. ${text}`);

export const demo: Command = {
  name: "demo",
  usage: "demo [--auto-approve] [--keep]",
  summary:
    "Run the whole job on the sandbox, end to end: device login (URL and code as a user sees them), the token stored, models discovered, a chat completion through the JWT-checking gateway with the Bearer token, the same with an API key, then logout. Uses a temporary home folder and stops everything at the end.",
  options: {
    "auto-approve": {
      type: "boolean",
      description: "Approve the device login as user alice (unattended runs)",
    },
    keep: { type: "boolean", description: "Keep the temporary home folder (token store, logs) afterwards" },
  },
  async run(ctx) {
    const { startSandbox, approveDevice } = await loadSandbox();
    const home = await mkdtemp(join(tmpdir(), "opencode-oidc-demo-"));
    const gatewayLog: string[] = [];
    const box = await startSandbox({ log: (line) => line.includes("/v1/") && gatewayLog.push(line) });
    try {
      // The user's own OKTA_* / HAIILO_* settings must not bend the demo.
      const inherited = Object.fromEntries(
        Object.entries(ctx.env).filter(([k]) => !/^(OKTA_|HAIILO_|OPENCODE_OIDC_)/.test(k)),
      );
      const env: NodeJS.ProcessEnv = {
        ...inherited,
        ...box.env,
        HOME: home,
        XDG_CONFIG_HOME: join(home, ".config"),
        XDG_DATA_HOME: join(home, ".local/share"),
        XDG_CACHE_HOME: join(home, ".cache"),
      };
      step(1, "Sandbox started");
      say(`OIDC issuer ${box.idp.issuer} · gateway ${box.gateway.url} · temporary home ${home}`);
      say(
        Object.entries(box.env)
          .map(([k, v]) => `  ${k}=${v}`)
          .join("\n"),
      );

      const { primary: tenant } = await resolveTenants({ cwd: home }, { env });
      if (!tenant) throw new Error("the haiilo preset did not resolve");

      step(
        2,
        `Device login to ${tenant.preset.name} (preset ${tenant.preset.id}, provider ${tenant.preset.provider.id})`,
      );
      const started = Date.now();
      const done = await login(tenant, "device", {
        show: (prompt) =>
          say(
            `To log in, open this URL in a browser:\n\n    ${prompt.url}\n\nand confirm the code:  ${prompt.userCode}`,
          ),
        openBrowser: async (url) => {
          if (!ctx.values["auto-approve"]) return false;
          say("(--auto-approve: approving as alice through the IdP's own pages)");
          void approveDevice(url, { login: "alice" }).catch((error) =>
            say(`auto-approve failed: ${(error as Error).message}`),
          );
          return true;
        },
        waiting: () => {
          if (!ctx.values["auto-approve"]) say(`Waiting for approval (log in as "alice", any password)…`);
        },
      });
      const claims = done.accessClaims;
      const mode = ((await stat(tenant.paths.tokenFile)).mode & 0o777).toString(8);
      const dirMode = ((await stat(tenant.paths.authDir)).mode & 0o777).toString(8);
      say(
        `Logged in as ${done.email ?? done.subject} after ${((Date.now() - started) / 1000).toFixed(1)} s.`,
      );
      say(
        `Access token: JWT for aud=${String(claims.aud)} scope="${String(claims.scope)}", expires ${new Date(done.expiresAt).toISOString()}; refresh token: ${done.refreshable ? "yes" : "no"}.`,
      );
      say(`Stored in ${done.storedIn} (mode ${mode}, folder mode ${dirMode}).`);

      step(3, "Models discovered from the gateway, with the preset's model settings applied");
      const listing = await listModels(tenant, { refresh: true, timeoutMs: MODEL_DISCOVERY.demoTimeoutMs });
      for (const [id, m] of Object.entries(listing.models)) {
        const limit = m.limit ? `context ${m.limit.context}, output ${m.limit.output}` : "no limits known";
        say(
          `  ${tenant.preset.provider.id}/${id.padEnd(16)} "${m.name}"  ${limit}${m.tool_call ? ", tools" : ""}${m.reasoning ? ", reasoning" : ""}${m.attachment ? ", attachments" : ""}`,
        );
      }

      const model = Object.keys(listing.models)[0] ?? "gpt-4o-mini";
      const chat = async (credential: () => Promise<Credential>) => {
        const send = authorizedFetch({ credential, authHeaders: [tenant.preset.auth.apiKey.header] });
        const response = await send(joinUrl(tenant.preset.provider.baseURL, "/chat/completions"), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, messages: [{ role: "user", content: "Hello!" }] }),
        });
        const body = (await response.json()) as { choices?: Array<{ message?: { content?: string } }> };
        return `HTTP ${response.status}: "${body.choices?.[0]?.message?.content ?? JSON.stringify(body)}"`;
      };

      step(4, `Chat completion with the Bearer token (model ${model})`);
      say(
        `  ${await chat(async () => ({ kind: "bearer", token: await tenant.session().getAccessToken() }))}`,
      );
      say(`  gateway: ${gatewayLog.at(-1) ?? "(no log line)"}`);

      step(5, `Chat completion with an API key (header ${tenant.preset.auth.apiKey.header})`);
      checkApiKey(tenant.preset, box.apiKey);
      await saveApiKey(tenant, box.apiKey);
      say(`  ${await chat(async () => (await storedApiKey(tenant)) as Credential)}`);
      say(`  gateway: ${gatewayLog.at(-1) ?? "(no log line)"}`);

      step(6, "OpenCode against the sandbox");
      say(
        [
          "  Keep a sandbox running with `npx opencode-oidc sandbox` and, in the shell where you start OpenCode, export the variables it prints. Then:",
          '    opencode auth login -p haiiloAi -m "Okta Device Flow"   # or: opencode-oidc login',
          "    opencode models haiiloAi",
          `    opencode run -m haiiloAi/${model} "hello"`,
          '  with the plugin in ~/.config/opencode/opencode.json:  { "plugin": ["@haiilo/opencode-haiilo-ai"] }',
        ].join("\n"),
      );

      step(7, "Logout");
      const out = await tenant.loginSession().logout();
      say(
        `  ${out.revoked ? "Tokens revoked at the IdP and deleted" : `Tokens deleted (${out.note})`}; revocation calls seen by the IdP: ${box.idp.counts.revocation}.`,
      );
      say("\nDemo complete.");
      return 0;
    } finally {
      await box.close();
      if (!ctx.values.keep) await rm(home, { recursive: true, force: true });
    }
  },
};
