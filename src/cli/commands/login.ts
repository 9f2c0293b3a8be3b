import { readFileSync } from "node:fs";
import { ErrorCode, OidcError } from "../../core/errors.js";
import { plainText } from "../../core/plain-text.js";
import { registerLogin } from "../../opencode/auth-file.js";
import { recordWellKnownOptions, WELL_KNOWN_MARKER } from "../../opencode/well-known.js";
import { openBrowser } from "../../platform/browser.js";
import { checkApiKey } from "../../tenant/api-key.js";
import { saveApiKey } from "../../tenant/credentials.js";
import { type LoginPrompt, minutesLeft, login as runLogin } from "../../tenant/login.js";
import { type Command, PLUGIN_OPTIONS_OPTION, PRESET_OPTION } from "../command.js";
import { out, say } from "../io.js";
import { pluginOptions, tenantFor } from "../tenant.js";

/** The login prompt on stderr, as a person reads it (the IdP's URL and code made plain). */
export function showPrompt(name: string, prompt: LoginPrompt): void {
  // Without a complete verification URL (Entra ID, Google) the code is typed in, not just confirmed.
  const step = prompt.codeInUrl ? "confirm the code" : "enter the code";
  say(
    `To log in to ${name}, open this URL in a browser:\n\n    ${plainText(prompt.url) ?? ""}\n\nand ${step}:  ${plainText(prompt.userCode) ?? ""}\n\nThe code is valid for ${minutesLeft(prompt.expiresAt)} minutes.`,
  );
}

export const login: Command = {
  name: "login",
  usage: "login [--preset ID] [--no-browser] [--api-key] [--well-known] [--plugin-options JSON]",
  summary:
    "Log in with the device flow: shows a URL and a code (on stderr), opens the browser when there is one, and stores the tokens. With --api-key, reads an API key from stdin instead. With --well-known (the auth.command of a /.well-known/opencode document), prints only a marker on stdout for OpenCode to store, never a token.",
  options: {
    ...PRESET_OPTION,
    browser: {
      type: "boolean",
      default: true,
      description: "Open the browser (--no-browser: only print the URL)",
    },
    "api-key": { type: "boolean", description: "Store an API key read from stdin instead of a device login" },
    "well-known": {
      type: "boolean",
      description:
        "Run for `opencode auth login <gateway>`: people read stderr, stdout gets a marker (no secret)",
    },
    ...PLUGIN_OPTIONS_OPTION,
  },
  async run(ctx) {
    const tenant = await tenantFor(ctx);
    const { preset } = tenant;
    const wellKnown = ctx.values["well-known"] === true;
    if (ctx.values["api-key"]) {
      if (wellKnown) {
        throw new OidcError(
          ErrorCode.USAGE,
          "--well-known runs the device login; it does not take --api-key.",
          {
            hint: "People with an API key connect with `opencode auth login` and the preset's API key method.",
          },
        );
      }
      if (!preset.auth.apiKey.enabled) {
        throw new OidcError(ErrorCode.USAGE, `Preset "${preset.id}" does not offer API keys.`, {
          hint: "Log in without --api-key.",
        });
      }
      const key = readFileSync(0, "utf8").trim();
      checkApiKey(preset, key);
      await saveApiKey(tenant, key);
      await registerLogin(ctx.env, preset.provider.id, "api");
      say(`API key stored for ${preset.name} in ${await tenant.store.describe()}.`);
      return 0;
    }
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once("SIGINT", onSignal);
    try {
      const done = await runLogin(
        tenant,
        "device",
        {
          show: (prompt) => showPrompt(preset.name, prompt),
          openBrowser: async (url) => {
            if (ctx.values.browser !== false && (await openBrowser(url, ctx.env)))
              say("(Opened your browser.)");
            return true;
          },
          waiting: () => say("Waiting for approval…"),
        },
        { signal: controller.signal },
      );
      await registerLogin(ctx.env, preset.provider.id, "oauth", done.expiresAt);
      say(
        `Logged in to ${preset.name} as ${plainText(done.email ?? done.subject) ?? "you"}. Tokens stored in ${await tenant.store.describe()}.`,
      );
      if (!done.refreshable)
        say(
          "note: the identity provider issued no refresh token; you will need to log in again when the access token expires.",
        );
      if (wellKnown) {
        // The person ran `opencode auth login <gateway>`: the document's options are theirs to trust.
        const options = pluginOptions(ctx);
        if (options !== undefined) await recordWellKnownOptions(ctx.env, preset.id, options);
        // OpenCode stores stdout as the well-known token; the plugin's session serves and refreshes.
        out(WELL_KNOWN_MARKER);
      }
      return 0;
    } finally {
      process.off("SIGINT", onSignal);
    }
  },
};
