/**
 * Token store hardening on a real file system (issue 10: L1, L2, L8, the read errors and the lock
 * wait's deadline): permissions are tightened when the store is read, malformed entries are set
 * aside one by one without losing the valid ones, links are refused, a file that cannot be read is
 * an error (never "corrupt", never a logout), and a caller's AbortSignal bounds the lock wait.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import lockfile from "proper-lockfile";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/core/errors.js";
import type { SessionKey, TokenSet } from "../../src/core/ports.js";
import { Session } from "../../src/core/session.js";
import { fileLogger } from "../../src/store/log-file.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { listModels } from "../../src/tenant/model-listing.js";
import { resolveTenants } from "../../src/tenant/resolve-tenants.js";
import type { Tenant } from "../../src/tenant/tenant.js";
import { run } from "../support/child-processes.js";
import { buildEngine, type EngineBuild, ROOT } from "../support/engine-build.js";
import {
  PRESET,
  recordingLogger,
  rejection,
  SCOPES,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import { report } from "../support/measure.js";
import { readStoreFile, sessionStoreId } from "../support/store-file.js";

const READ_WORKER = fileURLToPath(new URL("../support/store-read-worker.mjs", import.meta.url));
// No IdP is contacted in these tests: the issuer is a placeholder.
const ISSUER = "http://127.0.0.1:9";
const key = (preset = PRESET): SessionKey => ({ preset, issuer: ISSUER, clientId: "cli" });
const tokens = (name: string, extra: Record<string, unknown> = {}): TokenSet & Record<string, unknown> => ({
  accessToken: `access-${name}-${"x".repeat(20)}`,
  refreshToken: `refresh-${name}-${"y".repeat(20)}`,
  tokenType: "Bearer",
  obtainedAt: Date.now(),
  expiresAt: Date.now() + 3_600_000,
  ...extra,
});
const entry = (preset: string, name: string, extra: Record<string, unknown> = {}) => ({
  ...tokens(name, extra),
  preset,
  issuer: ISSUER,
  clientId: "cli",
  updatedAt: Date.now(),
});

function session(store: FileTokenStore, preset = PRESET): Session {
  return new Session({
    key: key(preset),
    settings: { issuer: ISSUER, clientId: "cli", scopes: SCOPES, audience: null, audienceParam: "none" },
    storage: store,
    skewSeconds: 300,
  });
}

const mode = (path: string) => statSync(path).mode & 0o777;
const asideCopies = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("tokens.json.corrupt-"));
/** A nested array `depth` levels deep, as JSON text (JSON.stringify itself would overflow the stack). */
const deepArray = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

let home: TempHome;
afterEach(() => home?.cleanup());

function writeStore(text: string, fileMode = 0o600): void {
  mkdirSync(home.authDir, { recursive: true, mode: 0o700 });
  writeFileSync(home.tokenFile, text, { mode: fileMode });
}

describe("L1: a store readable by others is tightened when it is read, not only at the next write", () => {
  it("a 0644 tokens.json in a 0755 folder is 0600 in 0700 after a read; its bytes are untouched; the log too", async () => {
    home = tempHome();
    const previous = process.umask(0);
    try {
      const text = `${JSON.stringify({ version: 1, sessions: { [sessionStoreId(key())]: entry(PRESET, "a") }, apiKeys: {} })}\n`;
      writeStore(text, 0o644);
      chmodSync(home.authDir, 0o755);
      chmodSync(home.tokenFile, 0o644);
      const before = statSync(home.tokenFile).mtimeMs;

      expect(await new FileTokenStore(home.tokenFile).read(key())).toMatchObject({
        accessToken: tokens("a").accessToken,
      });
      expect({ folder: mode(home.authDir), file: mode(home.tokenFile) }).toEqual({
        folder: 0o700,
        file: 0o600,
      });
      expect(readFileSync(home.tokenFile, "utf8")).toBe(text);
      expect(statSync(home.tokenFile).mtimeMs).toBe(before);

      // The debug log: an existing 0644 file in a 0755 folder is tightened by the first line written.
      const logDir = join(home.authDir, "log");
      mkdirSync(logDir, { mode: 0o755 });
      chmodSync(logDir, 0o755);
      writeFileSync(home.logFile, "old line\n", { mode: 0o644 });
      chmodSync(home.logFile, 0o644);
      fileLogger({ file: home.logFile, maxBytes: 1 << 20, privateDirs: [home.authDir, logDir] }).log(
        "info",
        "hello",
      );
      expect({ folder: mode(logDir), file: mode(home.logFile) }).toEqual({ folder: 0o700, file: 0o600 });
      expect(readFileSync(home.logFile, "utf8")).toMatch(/^old line\n.* INFO hello\n$/);
    } finally {
      process.umask(previous);
    }
  });
});

describe("L2: malformed store shapes never throw TypeErrors, never stick, never drop a valid credential", () => {
  const other = "other";

  it("`sessions: []`: the API key stays, a new login is stored (not lost in an array), the old file is kept aside", async () => {
    home = tempHome();
    const text = JSON.stringify({
      version: 1,
      sessions: [],
      apiKeys: { [PRESET]: { key: "sk-kept-1234567890", savedAt: 1 } },
    });
    writeStore(text);
    const logger = recordingLogger();
    const store = new FileTokenStore(home.tokenFile, logger);

    expect(await store.getApiKey(PRESET)).toBe("sk-kept-1234567890");
    expect(logger.lines.some((l) => l.level === "warn" && l.message.includes("sessions is an array"))).toBe(
      true,
    );
    await session(store).save(tokens("new"));
    // A second store object (another process) sees the login: it was really written.
    expect(await new FileTokenStore(home.tokenFile).read(key())).toMatchObject({
      accessToken: tokens("new").accessToken,
    });
    expect(readStoreFile(home.tokenFile).sessions).toHaveProperty([sessionStoreId(key())]);
    expect(await store.getApiKey(PRESET)).toBe("sk-kept-1234567890");
    const [aside] = asideCopies(home.authDir);
    expect(readFileSync(join(home.authDir, aside as string), "utf8")).toBe(text);
  });

  it("`apiKeys` as a string: the device login stays usable, and an API key can be stored", async () => {
    home = tempHome();
    writeStore(
      JSON.stringify({
        version: 1,
        sessions: { [sessionStoreId(key())]: entry(PRESET, "a") },
        apiKeys: "sk-oops",
      }),
    );
    const store = new FileTokenStore(home.tokenFile, recordingLogger());

    expect(await session(store).getAccessToken()).toBe(tokens("a").accessToken);
    await store.setApiKey(PRESET, "sk-new-1234567890");
    expect(await new FileTokenStore(home.tokenFile).getApiKey(PRESET)).toBe("sk-new-1234567890");
    expect(await new FileTokenStore(home.tokenFile).read(key())).toMatchObject({
      accessToken: tokens("a").accessToken,
    });
  });

  it.each([
    ["binding: 5", { binding: 5 }, "binding"],
    ["idToken: 7", { idToken: 7 }, "idToken"],
    ["expiresAt as a string", { expiresAt: "soon" }, "expiresAt"],
  ])(
    "a session with %s is set aside with a warning naming the field; the other logins are kept",
    async (_, bad, field) => {
      home = tempHome();
      const text = JSON.stringify({
        version: 1,
        sessions: {
          [sessionStoreId(key())]: entry(PRESET, "bad", bad),
          [sessionStoreId(key(other))]: entry(other, "good"),
        },
        apiKeys: { [PRESET]: { key: "sk-kept-1234567890", savedAt: 1 } },
      });
      writeStore(text);
      const logger = recordingLogger();
      const store = new FileTokenStore(home.tokenFile, logger);

      // The malformed login counts as absent (no TypeError, no SESSION_ELSEWHERE for a broken binding).
      expect((await rejection(session(store).getAccessToken())).code).toBe(ErrorCode.NOT_LOGGED_IN);
      const warning = logger.lines.find((l) => l.level === "warn" && l.message.includes("malformed entries"));
      expect(warning?.message).toContain(`sessions["${sessionStoreId(key())}"] has ${field}`);
      expect(await session(store, other).getAccessToken()).toBe(tokens("good").accessToken);

      // The next write keeps the file as it was next to the store, and the store stays writable.
      await session(store).save(tokens("relogin"));
      const fresh = new FileTokenStore(home.tokenFile);
      expect(await fresh.read(key())).toMatchObject({ accessToken: tokens("relogin").accessToken });
      expect(await fresh.read(key(other))).toMatchObject({ accessToken: tokens("good").accessToken });
      expect(await fresh.getApiKey(PRESET)).toBe("sk-kept-1234567890");
      const aside = asideCopies(home.authDir);
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(home.authDir, aside[0] as string), "utf8")).toBe(text);
    },
  );

  it("a 100 000-deep array (as an entry, inside an entry, beside the entries) blows no stack and sticks nothing", async () => {
    home = tempHome();
    const good = JSON.stringify(entry(PRESET, "good"));
    const text = `{"version":1,"extra":${deepArray(1e5)},"sessions":{"${sessionStoreId(key(other))}":${deepArray(1e5)},"${sessionStoreId(key())}":${good.slice(0, -1)},"nested":${deepArray(1e5)}}},"apiKeys":{"${PRESET}":{"key":"sk-kept-1234567890","deep":${deepArray(1e5)}}}}`;
    writeStore(text);
    const store = new FileTokenStore(home.tokenFile, recordingLogger());

    expect(await session(store).getAccessToken()).toBe(tokens("good").accessToken);
    expect(await store.getApiKey(PRESET)).toBe("sk-kept-1234567890");
    expect((await rejection(session(store, other).getAccessToken())).code).toBe(ErrorCode.NOT_LOGGED_IN);
    // Writes work (nothing deep is carried into JSON.stringify), and keep every valid credential.
    await session(store, other).save(tokens("other-new"));
    const written = readFileSync(home.tokenFile, "utf8");
    expect(written.length).toBeLessThan(5_000);
    const fresh = new FileTokenStore(home.tokenFile);
    expect(await fresh.read(key())).toMatchObject({ accessToken: tokens("good").accessToken });
    expect(await fresh.read(key(other))).toMatchObject({ accessToken: tokens("other-new").accessToken });
    expect(await fresh.getApiKey(PRESET)).toBe("sk-kept-1234567890");
  });

  it("a whole file that is a 100 000-deep array is corrupt: logged out, moved aside intact at the next login", async () => {
    home = tempHome();
    writeStore(deepArray(1e5));
    const store = new FileTokenStore(home.tokenFile, recordingLogger());
    expect(await store.read(key())).toBeUndefined();
    await session(store).save(tokens("a"));
    expect(await new FileTokenStore(home.tokenFile).read(key())).toMatchObject({
      accessToken: tokens("a").accessToken,
    });
    const [aside] = asideCopies(home.authDir);
    expect(readFileSync(join(home.authDir, aside as string), "utf8")).toBe(deepArray(1e5));
  });
});

describe("L8: a token store, store folder or log reached through a symbolic link is refused", () => {
  it("tokens.json as a link: read, login and requests fail with STORE_UNREADABLE; the target is neither rewritten nor chmodded", async () => {
    home = tempHome();
    const elsewhere = join(home.dir, "elsewhere");
    mkdirSync(elsewhere, { mode: 0o755 });
    const target = join(elsewhere, "tokens.json");
    const text = JSON.stringify({
      version: 1,
      sessions: { [sessionStoreId(key())]: entry(PRESET, "a") },
      apiKeys: {},
    });
    writeFileSync(target, text, { mode: 0o644 });
    chmodSync(target, 0o644);
    mkdirSync(home.authDir, { recursive: true, mode: 0o700 });
    symlinkSync(target, home.tokenFile);
    const store = new FileTokenStore(home.tokenFile);

    for (const attempt of [
      () => store.read(key()),
      () => session(store).getAccessToken(),
      () => session(store).save(tokens("b")),
      () => store.setApiKey(PRESET, "sk-x-1234567890"),
    ]) {
      const error = await rejection(attempt());
      expect(error.code).toBe(ErrorCode.STORE_UNREADABLE);
      expect(error.message).toContain(`${home.tokenFile} is a symbolic link`);
      expect(error.hint).toMatch(/Replace the link/);
    }
    expect(readFileSync(target, "utf8")).toBe(text);
    expect(mode(target)).toBe(0o644);
    expect(lstatSync(home.tokenFile).isSymbolicLink()).toBe(true);
    expect(readdirSync(home.authDir)).toEqual(["tokens.json"]);
  });

  it("the store folder as a link: refused, and nothing is created or chmodded in its target", async () => {
    home = tempHome();
    const elsewhere = join(home.dir, "elsewhere");
    mkdirSync(elsewhere, { mode: 0o755 });
    chmodSync(elsewhere, 0o755);
    mkdirSync(join(home.authDir, ".."), { recursive: true });
    symlinkSync(elsewhere, home.authDir);
    const store = new FileTokenStore(home.tokenFile);

    for (const attempt of [
      () => store.read(key()),
      () => session(store).save(tokens("b")),
      () => store.checkWritable(),
    ]) {
      const error = await rejection(attempt());
      expect(error.code).toBe(ErrorCode.STORE_UNREADABLE);
      expect(error.message).toContain(`${home.authDir} is a symbolic link`);
    }
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(mode(elsewhere)).toBe(0o755);
  });

  it("the debug log or its folder as a link: nothing is written through it, with one warning", async () => {
    home = tempHome();
    const elsewhere = join(home.dir, "elsewhere");
    mkdirSync(elsewhere, { mode: 0o755 });
    const target = join(elsewhere, "victim.log");
    writeFileSync(target, "untouched\n", { mode: 0o644 });
    chmodSync(target, 0o644);
    const logDir = join(home.authDir, "log");
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    symlinkSync(target, home.logFile);
    const echoed: string[] = [];
    const logger = fileLogger({
      file: home.logFile,
      maxBytes: 10,
      privateDirs: [home.authDir, logDir],
      echo: (_, line) => echoed.push(line),
    });
    for (let i = 0; i < 3; i++) logger.log("info", `line ${i} ${"z".repeat(20)}`);
    expect(readFileSync(target, "utf8")).toBe("untouched\n");
    expect(mode(target)).toBe(0o644);
    expect(lstatSync(home.logFile).isSymbolicLink()).toBe(true);
    expect(echoed.filter((l) => l.includes("is a symbolic link"))).toHaveLength(1);

    // The log folder itself as a link to a 0755 folder.
    const folderHome = tempHome();
    try {
      mkdirSync(folderHome.authDir, { recursive: true, mode: 0o700 });
      symlinkSync(elsewhere, join(folderHome.authDir, "log"));
      fileLogger({
        file: folderHome.logFile,
        maxBytes: 1 << 20,
        privateDirs: [folderHome.authDir, join(folderHome.authDir, "log")],
      }).log("info", "x");
      expect(readdirSync(elsewhere).sort()).toEqual(["victim.log"]);
      expect(mode(elsewhere)).toBe(0o755);
    } finally {
      folderHome.cleanup();
    }
  });
});

describe("a read error other than ENOENT is an error: STORE_UNREADABLE, nothing moved aside, the login kept", () => {
  let build: EngineBuild;
  beforeAll(async () => {
    build = await buildEngine();
  }, 120_000);
  afterAll(() => build?.cleanup());

  const login = () =>
    JSON.stringify({ version: 1, sessions: { [sessionStoreId(key())]: entry(PRESET, "a") }, apiKeys: {} });
  const worker = (args: string[], prefix: string[] = []) => {
    const [command, ...rest] = [
      ...prefix,
      process.execPath,
      READ_WORKER,
      build.engineUrl,
      home.tokenFile,
      PRESET,
      ISSUER,
      "cli",
      ...args,
    ];
    return run(command as string, rest, { env: { PATH: process.env.PATH }, cwd: ROOT });
  };
  const parse = (stdout: string) => JSON.parse(stdout.split("\n").find((l) => l.startsWith("{")) ?? "{}");

  it("EISDIR (tokens.json is a folder)", async () => {
    home = tempHome();
    mkdirSync(home.tokenFile, { recursive: true });
    const store = new FileTokenStore(home.tokenFile);
    for (const attempt of [() => store.read(key()), () => session(store).save(tokens("b"))]) {
      const error = await rejection(attempt());
      expect(error.code).toBe(ErrorCode.STORE_UNREADABLE);
      expect(error.message).toMatch(/not a regular file/);
    }
    expect(statSync(home.tokenFile).isDirectory()).toBe(true);
    expect(asideCopies(home.authDir)).toEqual([]);
  });

  it("EACCES (a tokens.json that belongs to another user, e.g. after `sudo opencode-oidc login`)", async () => {
    home = tempHome();
    const text = login();
    writeStore(text);
    const asRoot = process.getuid?.() === 0;
    let prefix: string[] = [];
    if (asRoot) {
      // The reader runs as nobody; the folder is nobody's, the file root's (0600).
      chmodSync(home.dir, 0o755);
      chmodSync(join(home.authDir, ".."), 0o755);
      chownSync(home.authDir, 65534, 65534);
      prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    } else {
      chmodSync(home.tokenFile, 0o000);
    }
    const { read, write } = parse((await worker([], prefix)).stdout);
    expect(read).toMatchObject({ ok: false, code: ErrorCode.STORE_UNREADABLE });
    expect(read.message).toMatch(/EACCES/);
    expect(read.hint).toMatch(/another user.*Your login is kept/s);
    expect(write).toMatchObject({ ok: false, code: ErrorCode.STORE_UNREADABLE });
    if (!asRoot) chmodSync(home.tokenFile, 0o600);
    // Nothing was moved aside or rewritten: the owner still has the login.
    expect(readFileSync(home.tokenFile, "utf8")).toBe(text);
    expect(asideCopies(home.authDir)).toEqual([]);
    expect(await new FileTokenStore(home.tokenFile).read(key())).toMatchObject({
      accessToken: tokens("a").accessToken,
    });
  });

  it("EMFILE (no file descriptor left in the process)", async () => {
    home = tempHome();
    const text = login();
    writeStore(text);
    const { read, write, handles } = parse((await worker(["emfile"], ["prlimit", "--nofile=256"])).stdout);
    expect(handles).toBeGreaterThan(100);
    expect(read).toMatchObject({ ok: false, code: ErrorCode.STORE_UNREADABLE });
    expect(read.message).toMatch(/EMFILE/);
    expect(write.ok).toBe(false);
    expect(readFileSync(home.tokenFile, "utf8")).toBe(text);
    expect(asideCopies(home.authDir)).toEqual([]);
  });
});

describe("the lock wait honours the caller's deadline (transact takes a signal)", () => {
  it("a held lock and a signal that fires after 200 ms: ABORTED within a second, from the store, a session refresh and OpenCode's model discovery", async () => {
    home = tempHome();
    const expired = { ...tokens("old"), expiresAt: Date.now() - 60_000, obtainedAt: Date.now() - 3_660_000 };
    writeStore(
      JSON.stringify({
        version: 1,
        sessions: {
          [sessionStoreId(key())]: {
            ...expired,
            preset: PRESET,
            issuer: ISSUER,
            clientId: "cli",
            updatedAt: 1,
          },
        },
        apiKeys: {},
      }),
    );
    // Another process holds the lock (60 s LOCK_TIMEOUT by default).
    const release = await lockfile.lock(home.tokenFile, {
      lockfilePath: `${home.tokenFile}.lock`,
      realpath: false,
      stale: 5_000,
      onCompromised: () => undefined,
    });
    try {
      const store = new FileTokenStore(home.tokenFile);
      let started = performance.now();
      const fromStore = await rejection(
        store.transact(key(), async () => ({ result: undefined }), { signal: AbortSignal.timeout(200) }),
      );
      const storeMs = performance.now() - started;
      expect(fromStore.code).toBe(ErrorCode.ABORTED);
      expect(fromStore.message).toContain(`${home.tokenFile}.lock`);
      expect(storeMs).toBeGreaterThanOrEqual(150);
      expect(storeMs).toBeLessThan(1_000);

      started = performance.now();
      const fromSession = await rejection(
        session(store).getAccessToken({ signal: AbortSignal.timeout(200) }),
      );
      expect(fromSession.code).toBe(ErrorCode.ABORTED);
      expect(performance.now() - started).toBeLessThan(1_000);
      // OpenCode's startup path: model discovery with its timeout, as the config hook runs it.
      const { primary } = await resolveTenants(
        { configFiles: false },
        {
          env: {
            ...home.env,
            OKTA_ISSUER: ISSUER,
            OKTA_CLIENT_ID: "cli",
            HAIILO_AI_BASE_URL: "http://127.0.0.1:9/v1",
            OPENCODE_OIDC_TOKEN_STORE: "file",
          },
        },
      );
      started = performance.now();
      const listing = await listModels(primary as Tenant, { timeoutMs: 300 });
      const listingMs = performance.now() - started;
      report(
        "lock held, discovery timeout 300 ms: ms until the model listing answers",
        Math.round(listingMs),
      );
      expect(listing.source).toBe("none");
      expect(listing.problem).toMatch(/Stopped waiting for the lock/);
      expect(listingMs).toBeLessThan(1_500);
      // Nothing was changed while waiting.
      expect(readStoreFile(home.tokenFile).sessions[sessionStoreId(key())]?.accessToken).toBe(
        expired.accessToken,
      );
    } finally {
      await release();
    }
    expect(existsSync(`${home.tokenFile}.lock`)).toBe(false);
  });
});
