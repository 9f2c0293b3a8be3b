/**
 * The token store on a real file system: corrupt files are moved aside intact, permissions are
 * private whatever the umask, writes are atomic under concurrency, and a newer schema is left alone.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/core/errors.js";
import type { SessionKey, TokenSet } from "../../src/core/ports.js";
import { Session } from "../../src/core/session.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import {
  PRESET,
  recordingLogger,
  rejection,
  SCOPES,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import { readStoreFile } from "../support/store-file.js";

// No IdP is contacted in these tests: the issuer is a placeholder.
const ISSUER = "http://127.0.0.1:9";
const key = (preset = PRESET): SessionKey => ({ preset, issuer: ISSUER, clientId: "cli" });
const tokenSet = (n: number): TokenSet => ({
  accessToken: `access-${n}-${"x".repeat(20)}`,
  refreshToken: `refresh-${n}-${"y".repeat(20)}`,
  tokenType: "bearer",
  obtainedAt: Date.now(),
  expiresAt: Date.now() + 3_600_000,
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
const corruptCopies = (home: TempHome) =>
  readdirSync(home.authDir).filter((f) => f.startsWith("tokens.json.corrupt-"));

let home: TempHome;
afterEach(() => home?.cleanup());

describe("token store", () => {
  it.each([
    ["garbage bytes", Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37, 0x80, 0x81, 0x0a, 0xc3, 0x28])],
    ["truncated JSON", Buffer.from(`{"version":1,"sessions":{"haiilo|x|y":{"accessToken":"abc`)],
    ["JSON that is not a token store", Buffer.from(`[1,2,3]`)],
  ])(
    "a corrupt file (%s) is moved aside with its bytes intact, treated as logged out, with a warning",
    async (_, bytes) => {
      home = tempHome();
      mkdirSync(home.authDir, { recursive: true });
      writeFileSync(home.tokenFile, bytes);
      const logger = recordingLogger();
      const store = new FileTokenStore(home.tokenFile, logger);

      // Reading: logged out, with a warning, and the file left exactly as it is (reads take no lock).
      expect(await store.read(key())).toBeUndefined();
      const error = await rejection(session(store).getAccessToken());
      expect(error.code).toBe(ErrorCode.NOT_LOGGED_IN);
      expect(
        logger.lines.some((l) => l.level === "warn" && l.message.includes("treating it as logged out")),
      ).toBe(true);
      expect(readFileSync(home.tokenFile).equals(bytes)).toBe(true);

      // The next write (a new login) moves it aside, bytes intact, under the lock, and writes a clean store.
      await session(store).save(tokenSet(1));
      const aside = corruptCopies(home);
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(home.authDir, aside[0] as string)).equals(bytes)).toBe(true);
      const warning = logger.lines.find((l) => l.level === "warn" && l.message.includes("moved"));
      expect(warning?.message).toContain(aside[0]);
      expect(readStoreFile(home.tokenFile).version).toBe(1);
    },
  );

  it("permissions: folder 0700 and file 0600 after a save, even with umask 0", async () => {
    home = tempHome();
    const previous = process.umask(0);
    try {
      await session(new FileTokenStore(home.tokenFile)).save(tokenSet(1));
      expect(mode(home.authDir)).toBe(0o700);
      expect(mode(home.tokenFile)).toBe(0o600);
      // The lock is gone once the write is done.
      expect(existsSync(`${home.tokenFile}.lock`)).toBe(false);
    } finally {
      process.umask(previous);
    }
  });

  it("permissions: an existing world-readable folder and file are tightened by the next save", async () => {
    home = tempHome();
    const previous = process.umask(0);
    try {
      mkdirSync(home.authDir, { recursive: true, mode: 0o777 });
      writeFileSync(home.tokenFile, `${JSON.stringify({ version: 1, sessions: {}, apiKeys: {} })}\n`, {
        mode: 0o666,
      });
      chmodSync(home.authDir, 0o777);
      chmodSync(home.tokenFile, 0o666);
      await session(new FileTokenStore(home.tokenFile)).save(tokenSet(1));
      expect(mode(home.authDir)).toBe(0o700);
      expect(mode(home.tokenFile)).toBe(0o600);
      expect(mode(dirname(home.authDir))).toBe(0o777);
    } finally {
      process.umask(previous);
    }
  });

  it("atomic writes: the file is valid JSON at every moment while 50 concurrent updates run, and none is lost", async () => {
    home = tempHome();
    // Five store objects (as if five processes) on one file.
    const stores = Array.from({ length: 5 }, () => new FileTokenStore(home.tokenFile));
    await session(stores[0] as FileTokenStore, "seed").save(tokenSet(0));

    let done = false;
    const invalid: string[] = [];
    let reads = 0;
    const reader = (async () => {
      while (!done) {
        const text = await readFile(home.tokenFile, "utf8");
        try {
          JSON.parse(text);
        } catch {
          invalid.push(text.slice(0, 80));
        }
        reads += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        session(stores[i % stores.length] as FileTokenStore, `p${i}`).save(tokenSet(i + 1)),
      ),
    );
    done = true;
    await reader;

    expect(invalid).toEqual([]);
    expect(reads).toBeGreaterThan(20);
    const data = readStoreFile(home.tokenFile);
    expect(Object.keys(data.sessions)).toHaveLength(51);
    for (let i = 0; i < 50; i++)
      expect(await stores[0]?.read(key(`p${i}`))).toMatchObject({ accessToken: tokenSet(i + 1).accessToken });
    expect(readdirSync(home.authDir).filter((f) => f !== "tokens.json")).toEqual([]);
  });

  it("a store written by a newer schema version: STORE_UNREADABLE, and the file is left untouched", async () => {
    home = tempHome();
    mkdirSync(home.authDir, { recursive: true, mode: 0o700 });
    const future = `${JSON.stringify({ version: 2, sessions: { "haiilo|x|y": { shape: "new" } }, extra: true }, null, 2)}\n`;
    writeFileSync(home.tokenFile, future, { mode: 0o600 });
    const before = statSync(home.tokenFile);
    const store = new FileTokenStore(home.tokenFile);

    const onRead = await rejection(store.read(key()));
    expect(onRead.code).toBe(ErrorCode.STORE_UNREADABLE);
    expect(onRead.message).toMatch(/newer version/);
    expect(onRead.hint).toMatch(/Update/);
    expect((await rejection(session(store).getAccessToken())).code).toBe(ErrorCode.STORE_UNREADABLE);
    expect((await rejection(session(store).save(tokenSet(1)))).code).toBe(ErrorCode.STORE_UNREADABLE);
    expect((await rejection(session(store).logout())).code).toBe(ErrorCode.STORE_UNREADABLE);

    expect(readFileSync(home.tokenFile, "utf8")).toBe(future);
    expect(statSync(home.tokenFile).mtimeMs).toBe(before.mtimeMs);
    expect(readdirSync(home.authDir)).toEqual(["tokens.json"]);
  });
});
