/**
 * L9: the disk fills up after the store's writability check, while the user approves a device login.
 * The store folder is a real, full tmpfs (a private mount namespace via `unshare`), so the write of
 * the approved tokens fails with a real ENOSPC. Decided behaviour: the tokens are revoked at the IdP
 * at once (nothing stays valid that nobody holds) and the user is told so, with the disk as the cause.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isOidcError } from "../../src/core/errors.js";
import { refreshTokens } from "../../src/core/oauth/refresh.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import type { TestIdp } from "../../src/sandbox/idp.js";
import { ChildRun } from "../support/child-processes.js";
import { buildEngine, type EngineBuild } from "../support/engine-build.js";
import { oidcSettings, startTestIdp, type TempHome, tempHome } from "../support/engine-fixtures.js";

const RECORDER = pathToFileURL(
  fileURLToPath(new URL("../support/record-oauth-responses.mjs", import.meta.url)),
).href;

/** Whether this machine lets a process mount a tmpfs in its own user and mount namespace. */
const mountNamespaces = (() => {
  try {
    execFileSync(
      "unshare",
      ["--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs none /mnt"],
      {
        stdio: "ignore",
      },
    );
    return true;
  } catch {
    console.warn(
      "SKIPPED disk-full test: `unshare --user --map-root-user --mount` with a tmpfs mount is not permitted here, so no real ENOSPC can be made.",
    );
    return false;
  }
})();

let build: EngineBuild;
let idp: TestIdp;
let home: TempHome;

beforeAll(async () => {
  if (!mountNamespaces) return;
  [build, idp] = await Promise.all([buildEngine(), startTestIdp({ rotateRefreshTokens: true })]);
  home = tempHome();
}, 120_000);
afterAll(async () => {
  await idp?.close();
  home?.cleanup();
  build?.cleanup();
});

describe("disk full after the writability check", () => {
  it.runIf(mountNamespaces)(
    "CLI device login: the approved tokens cannot be written (ENOSPC) → revoked at the IdP, and the user is told why",
    async () => {
      mkdirSync(home.authDir, { recursive: true, mode: 0o700 });
      const record = join(home.dir, "oauth-responses.jsonl");
      // The store folder becomes a 64 KiB tmpfs that a filler file makes full before the login starts.
      const script =
        'mount -t tmpfs -o size=64k,mode=0700 tmpfs "$1" && { dd if=/dev/zero of="$1/filler" bs=4k count=64 2>/dev/null; exec "$2" "$3" login --no-browser; }';
      const child = new ChildRun(
        "unshare",
        [
          "--user",
          "--map-root-user",
          "--mount",
          "sh",
          "-c",
          script,
          "sh",
          home.authDir,
          process.execPath,
          build.cli,
        ],
        {
          env: {
            PATH: process.env.PATH,
            ...home.env,
            OKTA_ISSUER: idp.issuer,
            OKTA_CLIENT_ID: idp.clientId,
            HAIILO_AI_BASE_URL: "http://127.0.0.1:9/v1",
            NODE_OPTIONS: `--import=${RECORDER}`,
            ENGINE_TEST_RECORD: record,
            NO_COLOR: "1",
          },
          cwd: home.dir,
        },
      );
      const [, url] = await child.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[\w-]+)/);
      const revocationsBefore = idp.counts.revocation;
      await approveDevice(url as string);
      const exit = await child.exited;

      expect(exit.code).toBe(1);
      expect(exit.stderr).toContain("The login was approved, but its tokens could not be stored");
      expect(exit.stderr).toMatch(/ENOSPC/);
      expect(exit.stderr).toContain("They were revoked at the identity provider, so nothing is left valid.");
      expect(exit.stderr).toContain("The disk is full");
      expect(exit.stderr).toContain("(code STORE_WRITE_FAILED)");
      expect(exit.stderr).not.toMatch(/Logged in to/);
      expect(idp.counts.revocation).toBe(revocationsBefore + 1);

      // The refresh token the IdP issued is dead, and it was never shown.
      const issued = readFileSync(record, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { body: string })
        .map((r) => {
          try {
            return JSON.parse(r.body) as { refresh_token?: string; access_token?: string };
          } catch {
            return {};
          }
        })
        .find((body) => body.refresh_token);
      expect(issued?.refresh_token).toEqual(expect.any(String));
      expect(exit.stderr).not.toContain(issued?.refresh_token);
      expect(exit.stderr).not.toContain(issued?.access_token);
      const replay = await refreshTokens(oidcSettings(idp), {
        accessToken: issued?.access_token ?? "",
        refreshToken: issued?.refresh_token,
        tokenType: "Bearer",
        expiresAt: Date.now() + 60_000,
        obtainedAt: Date.now(),
      }).catch((error: unknown) => error);
      expect(isOidcError(replay) && replay.code).toBe("SESSION_ENDED");
    },
    60_000,
  );
});
