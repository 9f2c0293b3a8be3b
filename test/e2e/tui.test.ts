/**
 * The first day in the real OpenCode TUI, driven through tmux as a person does: `/connect`, search
 * the provider, choose a method, approve at the IdP's own pages, pick a model, chat. Real binary,
 * real IdP (oidc-provider), real JWT-checking gateway; a fresh HOME per test. A failing test's
 * screens are saved under test/e2e/screens/ (the folder is printed).
 *
 * Set TUI_TRANSCRIPT_DIR to also write the device-flow test's screens as Markdown there.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type Gateway, startGateway } from "../../src/sandbox/gateway.js";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import type { OpencodeHome } from "./support/opencode.js";
import { cliLogin, pluginHome } from "./support/plugin-home.js";
import { escapeRegExp, startTui, type Tui } from "./support/tui.js";

vi.setConfig({ testTimeout: 300_000, hookTimeout: 60_000 });

const PROVIDER = "Haiilo AI (gke)";
/** The TUI's first screen can take a while on a busy machine. */
const START_MS = 120_000;

let box: Sandbox;
const homes: OpencodeHome[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  box = await startSandbox();
});
afterAll(async () => {
  await Promise.allSettled(closers.map((close) => close()));
  await box?.close();
  await Promise.all(homes.map((h) => h.cleanup()));
});

async function home(sandbox: Sandbox, options?: Parameters<typeof pluginHome>[1]) {
  const h = await pluginHome(sandbox, options);
  homes.push(h);
  return h;
}

// --- what a person does, screen by screen ---------------------------------------------------

/**
 * The start of a row in a dialog: the line's start, or two spaces (a dialog is drawn over the chat,
 * so the chat's own text can stand left of it on the same screen line), then an optional mark
 * (✓ connected, ● current).
 */
const ROW = "(?:^|\\s{2})(?:[✓●] )?";
/** The end of a row in a dialog: the line's end, or two spaces (chat text right of the dialog). */
const END = "(?:\\s{2}|\\s*$)";

/** A dialog row showing exactly `text` (optionally after a mark such as ✓ or ●). */
const row = (text: string) => new RegExp(`${ROW}${escapeRegExp(text)}${END}`, "m");

/** The home screen with its prompt, once it has stopped changing. */
async function waitForHome(tui: Tui): Promise<void> {
  await tui.waitFor(/ctrl\+p commands/, { timeoutMs: START_MS, label: "home screen" });
  await tui.waitFor(/Ask anything/, { label: "home screen prompt" });
  await tui.waitForStill(750, { label: "home screen settled" });
}

/** Types a slash command and waits until the prompt shows it and the menu offers only it. */
async function command(tui: Tui, name: string, title: string): Promise<void> {
  await tui.type(name);
  await tui.waitFor(
    new RegExp(
      `┃ ${escapeRegExp(name)}\\s+${escapeRegExp(title)}[\\s\\S]*┃\\s+${escapeRegExp(name)}\\s*$`,
      "m",
    ),
    {
      label: `typed ${name}`,
    },
  );
}

/** Types `/connect`, picks it from the command list and waits for the provider dialog. */
async function openConnect(tui: Tui): Promise<void> {
  await command(tui, "/connect", "Connect provider");
  await tui.press("Enter");
  await tui.waitFor("Connect a provider", { label: "Connect dialog" });
}

/**
 * Types into a dialog's search field and waits until the field shows the text and the list below
 * it has a row matching `wanted` (so Enter picks from the filtered list, not the one before).
 */
async function search(tui: Tui, text: string, wanted: string, label: string): Promise<string> {
  await tui.type(text);
  const { screen } = await tui.waitFor(
    new RegExp(`${ROW}${escapeRegExp(text)}${END}[\\s\\S]*${ROW}${wanted}`, "m"),
    {
      label,
    },
  );
  return screen;
}

/** Searches the Connect dialog for a provider and opens it. */
async function chooseProvider(tui: Tui, text: string, name: string): Promise<void> {
  await search(tui, text, `${escapeRegExp(name)}${END}`, `search "${text}" lists ${name}`);
  await tui.press("Enter");
}

/** In "Select auth method", filters by `label` and chooses it. Returns the dialog as it was shown. */
async function chooseMethod(tui: Tui, label: string): Promise<string> {
  const { screen } = await tui.waitFor("Select auth method", { label: "auth methods" });
  await search(tui, label, `${escapeRegExp(label)}${END}`, `filter methods by "${label}"`);
  await tui.press("Enter");
  return screen;
}

/** The device dialog: returns the verification URL and the code as shown on screen. */
async function readDeviceDialog(tui: Tui): Promise<{ url: string; code: string }> {
  const { screen } = await tui.waitFor(/Waiting for authorization/, {
    label: "device URL and code",
    timeoutMs: 30_000,
  });
  const url = /(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[A-Z]{4}-[A-Z]{4})/.exec(screen)?.[1];
  const code = /Confirm the code ([A-Z]{4}-[A-Z]{4})/.exec(screen)?.[1];
  if (!url || !code) throw new Error(`no device URL or code on screen:\n${screen}`);
  return { url, code };
}

/** The model picker that opens after a login: waits until every model is listed, then picks one. */
async function pickModel(tui: Tui, title: string, models: string[], pick: string): Promise<string> {
  const { screen } = await tui.waitFor(
    new RegExp(
      `${ROW}${escapeRegExp(title)}\\s+esc[\\s\\S]*${models.map((m) => `${ROW}${escapeRegExp(m)}${END}`).join("[\\s\\S]*")}`,
      "m",
    ),
    { label: `model picker lists ${models.join(", ")}`, timeoutMs: 60_000 },
  );
  await search(
    tui,
    pick,
    `${escapeRegExp(pick)}\\s+${escapeRegExp(title)}${END}`,
    `filter models by "${pick}"`,
  );
  await tui.press("Enter");
  await tui.waitFor(new RegExp(`Build · ${escapeRegExp(pick)} ${escapeRegExp(title)}`), {
    label: `model ${pick} chosen`,
  });
  return screen;
}

/**
 * Sends a message from the prompt and waits for `answer` below it (earlier turns stay on screen,
 * so only what follows this message counts), then, when `model` is given, for the end of the turn
 * (the assistant's footer gets its duration).
 */
async function send(tui: Tui, text: string, answer: string, model?: string): Promise<string> {
  await tui.type(text);
  await tui.waitFor(new RegExp(`┃\\s+${escapeRegExp(text)}${END}`, "m"), { label: `typed "${text}"` });
  await tui.press("Enter");
  const after = `┃\\s+${escapeRegExp(text)}${END}[\\s\\S]*?`;
  const { screen } = await tui.waitFor(new RegExp(`${after}${answer}`, "m"), {
    label: `answer to "${text}"`,
    timeoutMs: 90_000,
  });
  if (!model) return screen;
  const done = `[\\s\\S]*?▣\\s+Build · ${escapeRegExp(model)} · [\\d.]+m?s`;
  return (
    await tui.waitFor(new RegExp(`${after}${answer}${done}`, "m"), {
      label: "turn finished",
      timeoutMs: 30_000,
    })
  ).screen;
}

/** The gateway's answer as the chat shows it (the session title on the right says the same). */
const reply = (model: string) => `^ {3,8}Hello from ${escapeRegExp(model)}(?:\\s|$)`;

/**
 * The chat's text as one line: the sidebar (right of its "Context" heading), the chat's frame and
 * the line breaks taken out (the TUI wraps at spaces).
 */
function flat(screen: string): string {
  const lines = screen.split("\n");
  const sidebar = lines.map((line) => line.search(/ {2}Context\s*$/)).find((col) => col > 0);
  const chat = sidebar === undefined ? lines : lines.map((line) => line.slice(0, sidebar));
  return chat.join(" ").replace(/[┃╹▀]/g, " ").replace(/\s+/g, " ");
}

/**
 * Waits until the chat shows `text` (across its line wraps; an error toast may cover it for a while).
 * OpenCode retries a failed request a few times with a pause before it shows the error in the chat,
 * which on a loaded machine takes longer than the other waits.
 */
function waitForText(tui: Tui, text: string): Promise<string> {
  return tui.waitUntil((screen) => flat(screen).includes(text), {
    label: `the chat says "${text}"`,
    timeoutMs: 90_000,
  });
}

function chatsSince(gateway: Gateway, before: number) {
  return gateway.requests.slice(before).filter((r) => r.path === "/v1/chat/completions");
}

async function maybeWriteTranscript(tui: Tui, file: string, title: string, intro: string): Promise<void> {
  const dir = process.env.TUI_TRANSCRIPT_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, file), tui.transcript(title, intro));
  console.error(`TUI transcript written to ${join(dir, file)}`);
}

const tokenStore = (h: OpencodeHome) => join(h.env.XDG_CONFIG_HOME as string, "opencode-auth", "tokens.json");

// --- the tests ---------------------------------------------------------------------------------

describe("the OpenCode TUI, first day", () => {
  it("before any login the provider is listed; its one entry says how to connect and never reaches the gateway", async () => {
    // The seed README's step 2: a provider block written by hand, without models.
    const h = await home(box);
    const config = JSON.parse(await readFile(join(h.configDir, "opencode.json"), "utf8"));
    config.provider = {
      haiiloAi: {
        npm: "@ai-sdk/openai-compatible",
        name: PROVIDER,
        options: { baseURL: box.env.HAIILO_AI_BASE_URL },
      },
    };
    await writeFile(join(h.configDir, "opencode.json"), JSON.stringify(config, null, 2));
    const tui = await startTui({ home: h });
    await waitForHome(tui);

    await command(tui, "/models", "Switch model");
    await tui.press("Enter");
    await tui.waitFor("Select model", { label: "model dialog" });
    // The one entry of the provider, with its name saying what to do.
    await search(
      tui,
      "Haiilo",
      `Log in to list models — Ctrl\\+P → Con.*${escapeRegExp(PROVIDER)}`,
      "the connect entry",
    );
    await tui.press("Enter");
    // (the home screen's prompt is narrow: the footer is cut after the model's name)
    await tui.waitFor(/Build ·\s?Log in to list models — Ctrl\+P → Connect provider/, {
      label: "the connect entry chosen",
    });
    const before = box.gateway.requests.length;
    await send(tui, "hello", "is not connected yet");
    await waitForText(
      tui,
      "Connect in OpenCode: /connect (or Ctrl+P → Connect provider), choose Haiilo AI (gke), then Okta Device Flow or Manual API Key",
    );
    expect(chatsSince(box.gateway, before)).toEqual([]);
  });

  it("device flow: /connect → Haiilo AI → Okta Device Flow → approve → the gateway's models → chat with a Bearer token", async () => {
    const h = await home(box); // the README's plugin line alone
    const tui = await startTui({ home: h });
    await waitForHome(tui);
    await openConnect(tui);
    await chooseProvider(tui, "Haiilo", PROVIDER);
    const methods = await chooseMethod(tui, "Okta Device Flow");
    expect(methods).toMatch(row("Okta Device Flow"));
    expect(methods).toMatch(row("Manual API Key"));

    const { url, code } = await readDeviceDialog(tui);
    expect(url).toContain(`user_code=${code}`);
    tui.note(
      `The person opens ${url} and approves code ${code} as alice on the IdP's pages (the test drives those pages).`,
    );
    await approveDevice(url);

    const picker = await pickModel(
      tui,
      PROVIDER,
      ["claude-sonnet-4", "gpt-4o-mini", "llama-3.1-70b"],
      "gpt-4o-mini",
    );
    expect(picker).not.toMatch(/Log in to list models/);
    expect(await tui.exited()).toBe(false); // no restart

    const before = box.gateway.requests.length;
    await send(tui, "Say hello", reply("gpt-4o-mini"), "gpt-4o-mini");
    const chats = chatsSince(box.gateway, before);
    expect(chats.length).toBeGreaterThanOrEqual(1);
    for (const chat of chats)
      expect(chat).toMatchObject({ auth: "bearer", allowed: true, status: 200, sub: "alice" });
    tui.note(
      `The gateway saw ${chats.length} chat request(s), each with a valid Bearer token (auth: bearer, allowed, HTTP 200, sub alice).`,
    );
    await maybeWriteTranscript(
      tui,
      "device-flow.md",
      "OpenCode TUI: the first login with the Okta Device Flow, from /connect to the reply",
      [
        'Captured by `test/e2e/tui.test.ts` ("device flow: /connect → …") with `TUI_TRANSCRIPT_DIR=test/e2e/transcripts`:',
        "OpenCode 1.18.33 in a 160×48 tmux pane, a fresh HOME whose opencode.json has only the plugin line, the",
        "sandbox IdP (oidc-provider) and gateway on 127.0.0.1. Every distinct screen the test saw is here, headed by",
        "what the test was doing or waiting for and the time since OpenCode started; runs of blank lines are shown",
        "as one. Ports, codes and paths differ from run to run.",
      ].join("\n"),
    );
  });

  it("Manual API Key: the key typed into OpenCode's dialog → chat → x-api-key at the gateway", async () => {
    const h = await home(box);
    const tui = await startTui({ home: h, secrets: [box.apiKey] });
    await waitForHome(tui);
    await openConnect(tui);
    await chooseProvider(tui, "Haiilo", PROVIDER);
    await chooseMethod(tui, "Manual API Key");
    await tui.waitFor(/Manual API Key\s+esc[\s\S]*API key[\s\S]*enter submit/, { label: "API key dialog" });
    await tui.type(box.apiKey);
    await tui.press("Enter");
    await pickModel(tui, PROVIDER, ["claude-sonnet-4", "gpt-4o-mini", "llama-3.1-70b"], "gpt-4o-mini");

    const before = box.gateway.requests.length;
    await send(tui, "Say hello", reply("gpt-4o-mini"), "gpt-4o-mini");
    const chats = chatsSince(box.gateway, before);
    expect(chats.length).toBeGreaterThanOrEqual(1);
    for (const chat of chats)
      expect(chat).toMatchObject({ auth: "api-key", allowed: true, status: 200, client: "sandbox-client" });
    const auth = JSON.parse(await readFile(h.authFile, "utf8"));
    expect(auth.haiiloAi).toMatchObject({ type: "api" });
  });

  it("a session that ends during use shows the plugin's error, and connecting again from the dialog recovers in the same TUI", async () => {
    // Short-lived access tokens, so "expired" is real: the gateway checks `exp` itself.
    const ttl = 20;
    const shortBox = await startSandbox({ idp: { accessTokenTtlSeconds: ttl } });
    closers.push(() => shortBox.close());
    const h = await home(shortBox);
    const config = JSON.parse(await readFile(join(h.configDir, "opencode.json"), "utf8"));
    await writeFile(
      join(h.configDir, "opencode.json"),
      JSON.stringify({ ...config, model: "haiiloAi/gpt-4o-mini" }, null, 2),
    );
    expect((await cliLogin(h)).code).toBe(0);
    const tui = await startTui({ home: h });
    const pid = await tui.pid();
    await waitForHome(tui);
    let before = shortBox.gateway.requests.length;
    await send(tui, "First message", reply("gpt-4o-mini"), "gpt-4o-mini");
    expect(chatsSince(shortBox.gateway, before).every((c) => c.auth === "bearer" && c.allowed)).toBe(true);

    // The login ends at the IdP (refresh token revoked) and the access token runs out.
    const store = JSON.parse(await readFile(tokenStore(h), "utf8"));
    const [session] = Object.values(store.sessions) as Array<{ refreshToken: string; expiresAt: number }>;
    const discovery = await (await fetch(`${shortBox.idp.issuer}/.well-known/openid-configuration`)).json();
    const revoked = await fetch(discovery.revocation_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: session?.refreshToken ?? "",
        token_type_hint: "refresh_token",
        client_id: shortBox.idp.clientId,
      }),
    });
    expect(revoked.status).toBe(200);
    tui.note("The refresh token was revoked at the IdP; waiting for the access token to expire.");
    const expiresAt = session?.expiresAt ?? 0;
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(expiresAt + 1000), {
      timeout: (ttl + 10) * 1000,
      interval: 250,
    });

    before = shortBox.gateway.requests.length;
    await send(tui, "Second message", "The login has ended");
    await waitForText(
      tui,
      "Connect in OpenCode: /connect (or Ctrl+P → Connect provider), choose Haiilo AI (gke)",
    );
    expect(chatsSince(shortBox.gateway, before).every((c) => !c.allowed || c.status !== 200)).toBe(true);

    await openConnect(tui);
    await chooseProvider(tui, "Haiilo", PROVIDER);
    await chooseMethod(tui, "Okta Device Flow");
    const { url } = await readDeviceDialog(tui);
    tui.note("Approved at the IdP's pages.");
    await approveDevice(url);
    await pickModel(tui, PROVIDER, ["claude-sonnet-4", "gpt-4o-mini", "llama-3.1-70b"], "gpt-4o-mini");
    before = shortBox.gateway.requests.length;
    await send(tui, "Third message", reply("gpt-4o-mini"), "gpt-4o-mini");
    const chats = chatsSince(shortBox.gateway, before);
    expect(chats.length).toBeGreaterThanOrEqual(1);
    expect(chats.at(-1)).toMatchObject({ auth: "bearer", allowed: true, status: 200 });
    expect(await tui.pid()).toBe(pid); // the same OpenCode process throughout
  });

  it("a second preset from a config file: listed, its own methods, its own login, its own models", async () => {
    const acmeGateway = await startGateway({
      issuer: box.idp.issuer,
      audiences: [box.idp.audience],
      jwksUri: box.idp.jwksUri,
      models: [{ id: "acme-large" }, { id: "acme-small" }],
    });
    closers.push(() => acmeGateway.close());
    const h = await home(box);
    await writeFile(
      join(h.projectDir, "opencode-oidc.config.json"),
      JSON.stringify({
        presets: [
          {
            id: "acme",
            extends: "haiilo",
            name: "Acme AI",
            provider: { id: "acmeAi", name: "Acme AI", baseURL: acmeGateway.url },
            oidc: { issuer: box.idp.issuer, clientId: box.idp.clientId, audience: box.idp.audience },
            env: {},
            log: { file: "acme.log" },
          },
        ],
      }),
    );
    const tui = await startTui({ home: h });
    await waitForHome(tui);
    await openConnect(tui);
    await chooseProvider(tui, "Acme", "Acme AI");
    const methods = await chooseMethod(tui, "Okta Device Flow");
    // Acme's own methods, not OpenCode's generic "API key" and not entries of the Haiilo provider.
    expect(methods).toMatch(row("Manual API Key"));
    expect(methods).not.toMatch(/Acme AI: /);

    const { url } = await readDeviceDialog(tui);
    tui.note("Approved at the IdP's pages.");
    await approveDevice(url);
    await pickModel(tui, "Acme AI", ["acme-large", "acme-small"], "acme-small");
    const before = acmeGateway.requests.length;
    await send(tui, "Say hello", reply("acme-small"), "acme-small");
    const chats = chatsSince(acmeGateway, before);
    expect(chats.length).toBeGreaterThanOrEqual(1);
    for (const chat of chats) expect(chat).toMatchObject({ auth: "bearer", allowed: true, status: 200 });

    // The login is Acme's: OpenCode filed it under acmeAi, and the token store under the acme preset.
    const auth = JSON.parse(await readFile(h.authFile, "utf8"));
    expect(Object.keys(auth)).toEqual(["acmeAi"]);
    const store = JSON.parse(await readFile(tokenStore(h), "utf8"));
    expect(Object.keys(store.sessions).map((k) => k.split("|")[0])).toEqual(["acme"]);
  });
});
