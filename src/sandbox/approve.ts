/**
 * Approves (or denies) a device login by driving the sandbox IdP's real HTML pages with fetch and a
 * tiny cookie jar, the way a browser would: user-code form -> confirm -> login -> consent. The same
 * for a browser login: authorization URL -> login -> consent -> the redirect to the client.
 */

export interface ApproveOptions {
  /** Account to sign in as (default "alice"). */
  login?: string;
  /** Press "Abort" on the confirm page instead of approving. */
  deny?: boolean;
  /**
   * Type this user code into the form, as a person does when the IdP sends no complete URI
   * (Entra ID, Google): then the first argument is the plain `verification_uri`.
   */
  userCode?: string;
  fetch?: typeof fetch;
}

interface Form {
  action: string;
  fields: Record<string, string>;
}

interface Page {
  url: string;
  status: number;
  html: string;
  /** A redirect that left the IdP (to the client's redirect URI), not followed. */
  leftTo?: string;
}

const MAX_REDIRECTS = 10;

function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*"([^"]*)"`, "i").exec(tag);
  return match?.[1] === undefined ? undefined : decodeEntities(match[1]);
}

/** The first <form> (or the one with the given id) and its hidden/pre-filled inputs. */
function findForm(page: Page, id?: string): Form | undefined {
  for (const match of page.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const [, open = "", inner = ""] = match;
    if (id !== undefined && attribute(open, "id") !== id) continue;
    const fields: Record<string, string> = {};
    for (const input of inner.matchAll(/<input\b[^>]*>/gi)) {
      const name = attribute(input[0], "name");
      if (name) fields[name] = attribute(input[0], "value") ?? "";
    }
    return { action: new URL(attribute(open, "action") ?? page.url, page.url).href, fields };
  }
  return undefined;
}

class Browser {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly fetchImpl: typeof fetch) {}

  private remember(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k = "", v = ""] = a.split("=").map((s) => s.trim());
        if (k.toLowerCase() === "max-age") return Number(v) <= 0;
        if (k.toLowerCase() === "expires") return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** GET or POST, following redirects by hand so every Set-Cookie along the way is kept. */
  async open(step: string, url: string, form?: Record<string, string>, stayOn?: string): Promise<Page> {
    let current = url;
    let body: URLSearchParams | undefined = form ? new URLSearchParams(form) : undefined;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      const headers: Record<string, string> = { accept: "text/html" };
      if (this.cookies.size) {
        headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      }
      if (body) headers["content-type"] = "application/x-www-form-urlencoded";
      let response: Response;
      try {
        response = await this.fetchImpl(current, {
          method: body ? "POST" : "GET",
          headers,
          body,
          redirect: "manual",
        });
      } catch (cause) {
        throw new Error(`approveDevice: ${step}: request to ${current} failed`, { cause });
      }
      this.remember(response.headers);
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        const next = new URL(location, current);
        if (stayOn !== undefined && next.origin !== stayOn) {
          return { url: current, status: response.status, html: "", leftTo: next.href };
        }
        current = next.href;
        body = undefined;
        continue;
      }
      return { url: current, status: response.status, html: await response.text() };
    }
    throw new Error(`approveDevice: ${step}: more than ${MAX_REDIRECTS} redirects`);
  }
}

function expectForm(step: string, page: Page, id?: string): Form {
  const form = findForm(page, id);
  if (!form) {
    throw new Error(
      `approveDevice: ${step}: expected a form${id ? ` #${id}` : ""} at ${page.url}, got ${describe(page)}`,
    );
  }
  return form;
}

function describe(page: Page): string {
  const title = /<title>([^<]*)<\/title>/i.exec(page.html)?.[1] ?? "untitled page";
  const message =
    /<p[^>]*class="red"[^>]*>([^<]*)</i.exec(page.html)?.[1] ??
    /<p id="message">([^<]*)</i.exec(page.html)?.[1];
  return `"${title}" (HTTP ${page.status}${message ? `: ${message}` : ""})`;
}

export async function approveDevice(
  verificationUriComplete: string,
  opts: ApproveOptions = {},
): Promise<void> {
  const browser = new Browser(opts.fetch ?? fetch);
  const login = opts.login ?? "alice";

  // 1. The verification link answers with an auto-submitting form carrying the user code
  //    (or, for the plain verification_uri, an empty form the user types the code into).
  const landing = await browser.open("open verification_uri_complete", verificationUriComplete);
  const codeForm = expectForm("open verification_uri_complete", landing);
  if (opts.userCode !== undefined) codeForm.fields.user_code = opts.userCode;
  if (!codeForm.fields.user_code) {
    throw new Error(
      `approveDevice: open verification_uri_complete: no user_code in the form at ${landing.url}`,
    );
  }

  // 2. Submitting it shows the confirmation page ("the following code should be displayed...").
  const confirmPage = await browser.open("submit user code", codeForm.action, codeForm.fields);
  const confirm = expectForm("submit user code", confirmPage, "op.deviceConfirmForm");

  // 3. Continue, or Abort (the abort button adds abort=yes to the same form).
  const fields = opts.deny ? { ...confirm.fields, abort: "yes" } : confirm.fields;
  let page = await browser.open(opts.deny ? "deny device" : "confirm device", confirm.action, fields);
  if (opts.deny) {
    if (!/interrupted/i.test(page.html)) {
      throw new Error(`approveDevice: deny device: expected the aborted page, got ${describe(page)}`);
    }
    return;
  }

  // 4. Then the login and consent interactions, in whatever order the IdP asks for them.
  for (let round = 0; round < 4; round += 1) {
    if (/<title>Sign-in Success<\/title>/i.test(page.html)) return;
    const form = findForm(page);
    const prompt = form?.fields.prompt;
    if (form && prompt === "login") {
      page = await browser.open("login", form.action, { ...form.fields, login, password: "x" });
    } else if (form && prompt === "consent") {
      page = await browser.open("consent", form.action, form.fields);
    } else {
      throw new Error(
        `approveDevice: after ${round === 0 ? "confirm device" : "login/consent"}: unexpected page ${describe(page)}`,
      );
    }
  }
  throw new Error(`approveDevice: login/consent did not finish, last page ${describe(page)}`);
}

/**
 * Signs in at a browser login's authorization URL on the sandbox IdP's real pages (login, consent)
 * and returns the URL the IdP redirects the browser to (the client's redirect URI with `code`,
 * `state` and `iss`), without opening it. With `deny`, presses Cancel on the login page: the redirect
 * then carries `error=access_denied`.
 */
export async function approveAuthorization(
  authorizationUrl: string,
  opts: ApproveOptions = {},
): Promise<string> {
  const browser = new Browser(opts.fetch ?? fetch);
  const login = opts.login ?? "alice";
  const idp = new URL(authorizationUrl).origin;
  let page = await browser.open("open authorization URL", authorizationUrl, undefined, idp);
  for (let round = 0; round < 4; round += 1) {
    if (page.leftTo) return page.leftTo;
    const form = findForm(page);
    const prompt = form?.fields.prompt;
    if (form && prompt === "login" && opts.deny) {
      const cancel = /href="([^"]*\/abort)"/.exec(page.html)?.[1];
      if (!cancel) throw new Error(`approveAuthorization: no Cancel link on ${describe(page)}`);
      page = await browser.open("cancel", new URL(decodeEntities(cancel), page.url).href, undefined, idp);
    } else if (form && prompt === "login") {
      page = await browser.open("login", form.action, { ...form.fields, login, password: "x" }, idp);
    } else if (form && prompt === "consent") {
      page = await browser.open("consent", form.action, form.fields, idp);
    } else {
      throw new Error(`approveAuthorization: unexpected page ${describe(page)}`);
    }
  }
  throw new Error(`approveAuthorization: login/consent did not finish, last page ${describe(page)}`);
}
