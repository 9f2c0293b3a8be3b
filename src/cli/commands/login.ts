import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { describeError, ErrorCode, OidcError } from "../../core/errors.js";
import { plainText } from "../../core/plain-text.js";
import { registerLogin } from "../../opencode/auth-file.js";
import { recordWellKnownOptions, WELL_KNOWN_MARKER } from "../../opencode/well-known.js";
import { openBrowser } from "../../platform/browser.js";
import { checkApiKey } from "../../tenant/api-key.js";
import { saveApiKey } from "../../tenant/credentials.js";
import {
  beginLogin,
  defaultMethod,
  LOGIN_METHODS,
  type LoginMethod,
  type LoginPrompt,
  minutesLeft,
  type PendingLogin,
} from "../../tenant/login.js";
import { type Command, PLUGIN_OPTIONS_OPTION, PRESET_OPTION } from "../command.js";
import { out, say } from "../io.js";
import { pluginOptions, tenantFor } from "../tenant.js";

/** The login prompt on stderr, as a person reads it (the IdP's URL and code made plain). */
export function showPrompt(name: string, prompt: LoginPrompt): void {
  if (prompt.method === "browser") {
    say(
      `To log in to ${name}, open this URL in a browser and sign in:\n\n    ${plainText(prompt.url) ?? ""}\n\n` +
        `The browser then returns to ${prompt.redirectUri} and this command finishes.\n` +
        "If the browser runs on another machine, paste the address it ends on (or just its code) here and press Enter.\n" +
        `The login waits ${minutesLeft(prompt.expiresAt)} minutes.`,
    );
    return;
  }
  // Without a complete verification URL (Entra ID, Google) the code is typed in, not just confirmed.
  const step = prompt.codeInUrl ? "confirm the code" : "enter the code";
  say(
    `To log in to ${name}, open this URL in a browser:\n\n    ${plainText(prompt.url) ?? ""}\n\nand ${step}:  ${plainText(prompt.userCode) ?? ""}\n\nThe code is valid for ${minutesLeft(prompt.expiresAt)} minutes.`,
  );
}

function methodOf(value: unknown, fallback: LoginMethod): LoginMethod {
  if (value === undefined) return fallback;
  if (typeof value === "string" && (LOGIN_METHODS as readonly string[]).includes(value))
    return value as LoginMethod;
  throw new OidcError(ErrorCode.USAGE, `Unknown login method "${plainText(String(value)) ?? ""}".`, {
    hint: `Use --method ${LOGIN_METHODS.join(" or --method ")}.`,
  });
}

/** The paste fallback: every line typed (or piped) on stdin is offered to the browser login. */
function readPastes(pending: PendingLogin): () => void {
  const paste = pending.paste;
  if (!paste) return () => undefined;
  const lines = createInterface({ input: process.stdin, terminal: false });
  lines.on("line", (line) => {
    if (!line.trim()) return;
    paste(line).catch((error: unknown) => say(`${describeError(error)}`));
  });
  return () => {
    lines.close();
    process.stdin.destroy();
  };
}

export const login: Command = {
  name: "login",
  usage:
    "login [--preset ID] [--method device|browser] [--no-browser] [--api-key] [--well-known] [--plugin-options JSON]",
  summary:
    "Log in and store the tokens. --method device (the default where the preset offers it): shows a URL and a code on stderr. --method browser: the authorization code grant with PKCE; the browser returns to a loopback address on this machine, or you paste the address it ends on. The browser is opened when there is one. With --api-key, reads an API key from stdin instead. With --well-known (the auth.command of a /.well-known/opencode document), prints only a marker on stdout for OpenCode to store, never a token.",
  options: {
    ...PRESET_OPTION,
    method: { type: "string", short: "m", description: "device or browser (default: the preset's first)" },
    browser: {
      type: "boolean",
      default: true,
      description: "Open the browser (--no-browser: only print the URL)",
    },
    "api-key": { type: "boolean", description: "Store an API key read from stdin instead of logging in" },
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
    const method = methodOf(ctx.values.method, defaultMethod(tenant));
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    // `on`, not `once`: proper-lockfile's signal-exit re-raises SIGINT when it sees no other listener
    // left, which a `once` listener is not by the time signal-exit's own handler runs.
    process.on("SIGINT", onSignal);
    let stopPastes: () => void = () => undefined;
    try {
      const pending = await beginLogin(tenant, method, {
        signal: controller.signal,
        returnTo: "the terminal",
      });
      showPrompt(preset.name, pending.prompt);
      if (ctx.values.browser !== false && (await openBrowser(pending.prompt.url, ctx.env)))
        say("(Opened your browser.)");
      say(method === "browser" ? "Waiting for the browser…" : "Waiting for approval…");
      stopPastes = readPastes(pending);
      const done = await pending.complete();
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
      stopPastes();
      process.off("SIGINT", onSignal);
    }
  },
};
