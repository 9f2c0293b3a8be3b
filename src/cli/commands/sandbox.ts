import { once } from "node:events";
import { describeError } from "../../core/errors.js";
import { wellKnownDocument } from "../../opencode/well-known.js";
import type { Command } from "../command.js";
import { say } from "../io.js";
import { tenantFor } from "../tenant.js";
import { VERSION } from "../version.js";
import { loadSandbox } from "./sandbox-loader.js";

export const sandbox: Command = {
  name: "sandbox",
  usage: "sandbox [--idp-port N] [--gateway-port N] [--quiet]",
  summary:
    "Start a real OIDC server (oidc-provider, device flow, user alice) and an OpenAI-compatible gateway that checks JWTs against its JWKS and API keys, both on 127.0.0.1, and print how to point opencode-oidc and OpenCode at them. Runs until interrupted (Ctrl-C).",
  options: {
    "idp-port": { type: "string", description: "Port of the OIDC server (default: a free port)" },
    "gateway-port": { type: "string", description: "Port of the gateway (default: a free port)" },
    quiet: { type: "boolean", description: "Do not log each request's auth decision" },
  },
  async run(ctx) {
    const { startSandbox } = await loadSandbox();
    const port = (v: unknown) => (typeof v === "string" ? Number(v) : undefined);
    const box = await startSandbox({
      idpPort: port(ctx.values["idp-port"]),
      gatewayPort: port(ctx.values["gateway-port"]),
      log: ctx.values.quiet ? undefined : (line) => say(`[sandbox] ${line}`),
    });
    const exports = Object.entries(box.env).map(([k, v]) => `export ${k}=${v}`);
    // The gateway also serves OpenCode's onboarding document for the Haiilo preset pointed at it.
    let onboarding: string;
    try {
      const tenant = await tenantFor({ ...ctx, env: { ...ctx.env, ...box.env }, values: {} });
      box.gateway.setWellKnown(wellKnownDocument(tenant.preset, { version: VERSION }));
      onboarding = VERSION.endsWith("-dev")
        ? `  (a development build: the document's login runs ${VERSION} through npx, which only a release has)`
        : `  opencode auth login ${box.gateway.origin}    # no plugin line needed: the gateway's /.well-known/opencode installs it`;
    } catch (error) {
      onboarding = `  (no /.well-known/opencode: ${describeError(error)})`;
    }
    say(
      [
        "Sandbox running.",
        `  OIDC issuer   ${box.idp.issuer}   (device logins: user "alice", any password)`,
        `  Gateway       ${box.gateway.url}`,
        `  API key       ${box.apiKey}   (valid for this sandbox only)`,
        "",
        "Point the Haiilo preset at it, in another shell:",
        ...exports.map((l) => `  ${l}`),
        "  opencode-oidc login --no-browser     # approve at the printed URL",
        "  opencode-oidc models",
        `  curl -H "Authorization: Bearer $(opencode-oidc token)" ${box.gateway.url}/models`,
        "",
        "Then OpenCode, in one command (any shell):",
        onboarding,
        "or with the plugin in opencode.json (same shell as the exports):",
        '  opencode auth login -p haiiloAi -m "Okta Device Flow"',
        "  opencode models haiiloAi",
        "",
        "Press Ctrl-C to stop.",
      ].join("\n"),
    );
    await Promise.race([once(process, "SIGINT"), once(process, "SIGTERM")]);
    say("Stopping the sandbox…");
    await box.close();
    return 0;
  },
};
