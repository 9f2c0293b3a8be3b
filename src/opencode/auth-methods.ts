import type { AuthHook } from "@opencode-ai/plugin";
import { describeError } from "../core/errors.js";
import { plainText } from "../core/plain-text.js";
import { canOpenBrowser, openBrowser } from "../platform/browser.js";
import { beginLogin, type LoginOutcome, minutesLeft } from "../tenant/login.js";
import type { Tenant } from "../tenant/tenant.js";
import { STORE_MARKER } from "./auth-file.js";

type Method = AuthHook["methods"][number];

/** "Okta Device Flow": the login use case, rendered by OpenCode ("Go to:" the URL, the code in the instructions). */
export function deviceMethod(tenant: Tenant, label: string, forOtherProvider: boolean): Method {
  return {
    type: "oauth",
    label,
    async authorize() {
      // OpenCode shows a thrown Error's message; the engine's text says what to do.
      const pending = await beginLogin(tenant, "device").catch((error: unknown) => {
        throw new Error(describeError(error));
      });
      const { prompt } = pending;
      void openBrowser(prompt.url);
      return {
        url: prompt.url,
        method: "auto" as const,
        // The IdP's code and URL, made plain: OpenCode shows them in its terminal UI.
        instructions: `${prompt.codeInUrl ? "Confirm" : "Enter"} the code ${plainText(prompt.userCode) ?? ""} at ${plainText(prompt.verificationUri) ?? ""} (valid for ${minutesLeft(prompt.expiresAt)} min).`,
        async callback() {
          try {
            const done = await pending.complete();
            return {
              type: "success" as const,
              ...(forOtherProvider && { provider: tenant.preset.provider.id }),
              refresh: STORE_MARKER,
              access: STORE_MARKER,
              expires: done.expiresAt,
            };
          } catch {
            // The use case logged why; OpenCode shows its own "failed".
            return { type: "failed" as const };
          }
        },
      };
    },
  };
}

/**
 * "Okta Browser Login": the authorization code grant with PKCE. Where a browser can be opened, it
 * opens on the URL and returns to a loopback listener by itself (`method: "auto"`). Without one
 * (SSH, no display, OPENCODE_OIDC_NO_BROWSER=1), the paste fallback: the user opens the URL
 * anywhere and pastes the address the browser ends on (`method: "code"`).
 */
export function browserMethod(tenant: Tenant, label: string, forOtherProvider: boolean): Method {
  const success = (done: LoginOutcome) => ({
    type: "success" as const,
    ...(forOtherProvider && { provider: tenant.preset.provider.id }),
    refresh: STORE_MARKER,
    access: STORE_MARKER,
    expires: done.expiresAt,
  });
  return {
    type: "oauth",
    label,
    async authorize() {
      const local = canOpenBrowser();
      const pending = await beginLogin(tenant, "browser", { listen: local, returnTo: "OpenCode" }).catch(
        (error: unknown) => {
          throw new Error(describeError(error));
        },
      );
      const { prompt } = pending;
      if (local) {
        void openBrowser(prompt.url);
        return {
          url: prompt.url,
          method: "auto" as const,
          instructions: `Sign in in the browser; it returns to OpenCode by itself (waiting up to ${minutesLeft(prompt.expiresAt)} min).`,
          async callback() {
            try {
              return success(await pending.complete());
            } catch {
              return { type: "failed" as const };
            }
          },
        };
      }
      return {
        url: prompt.url,
        method: "code" as const,
        instructions: `Open the URL in any browser and sign in. It then ends on an address starting with ${prompt.redirectUri} that does not load: copy that whole address (or just its code) and paste it here.`,
        async callback(code: string) {
          try {
            await pending.paste?.(code);
            return success(await pending.complete());
          } catch {
            return { type: "failed" as const };
          }
        },
      };
    },
  };
}

/**
 * "Manual API Key": OpenCode asks for the key with its own masked prompt and stores it in auth.json.
 * (OpenCode does not pass that key to `authorize`, and a plugin prompt would echo it on screen, so
 * the preset's pattern is checked where the key is used: every request, with a clear error.)
 */
export function apiKeyMethod(label: string): Method {
  return { type: "api", label };
}

/**
 * The methods of one auth hook: its own tenant's (plain labels), then those of presets beyond the
 * last plugin slot (prefixed with the preset's name; their logins are filed under their own
 * provider). OpenCode files a key typed for an `api` method under the hook's own provider only, so
 * those presets take an API key with `opencode-oidc login --api-key --preset ID`.
 */
export function methodsFor(tenants: Tenant[]): Method[] {
  const methods: Method[] = [];
  tenants.forEach((tenant, index) => {
    const other = index > 0;
    const prefix = other ? `${tenant.preset.name}: ` : "";
    const { deviceFlow, browser } = tenant.preset.auth;
    if (deviceFlow.enabled) methods.push(deviceMethod(tenant, prefix + deviceFlow.label, other));
    if (browser.enabled) methods.push(browserMethod(tenant, prefix + browser.label, other));
    // OpenCode stores a key typed for an `api` method under the hook's own provider only; other
    // presets take an API key with `opencode-oidc login --api-key --preset ID`.
    if (tenant.preset.auth.apiKey.enabled && !other)
      methods.push(apiKeyMethod(tenant.preset.auth.apiKey.label));
  });
  return methods;
}
