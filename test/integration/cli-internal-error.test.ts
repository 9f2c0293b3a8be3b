/**
 * A failure that is not an OidcError (a bug, an unexpected system error) still reaches the person
 * as a message, a hint and a code: `main()`, the CLI's entry, runs `status` with a failure injected
 * into a module it uses (the JWT claim decoder throws a TypeError, as a bug would).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { storePaths } from "../../src/store/paths.js";
import { type TempHome, tempHome } from "../support/engine-fixtures.js";

const INJECTED =
  "Cannot read properties of undefined (reading 'split') near eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";

vi.mock("../../src/core/oauth/tokens.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../src/core/oauth/tokens.js")>()),
  decodeJwtClaims: () => {
    throw new TypeError(INJECTED);
  },
}));

let home: TempHome | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  home?.cleanup();
  home = undefined;
});

/** Runs `main(argv)` and collects what it wrote on stdout and stderr. */
async function runMain(argv: string[], env: NodeJS.ProcessEnv) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const capture = (into: string[]) => (chunk: unknown) => {
    into.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture(stdout));
  vi.spyOn(process.stderr, "write").mockImplementation(capture(stderr));
  const code = await main(argv, env, home?.dir);
  vi.restoreAllMocks();
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}

describe("an unexpected failure in a CLI command", () => {
  it("prints the error (named, redacted), a hint with the debug log's folder, and (code INTERNAL); exit 1", async () => {
    home = tempHome();
    const env = {
      ...home.env,
      OKTA_ISSUER: "https://idp.example.test/oauth2/default",
      OKTA_CLIENT_ID: "cli",
    };
    const result = await runMain(["status"], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n")).toEqual([
      "error: TypeError: Cannot read properties of undefined (reading 'split') near [redacted-jwt]",
      `This was not expected (a bug or an unexpected system error). The debug log in ${storePaths(env).logDir} shows what the command did before it; run the command again, and if it keeps failing, report it with this output and that of \`opencode-oidc status\`.`,
      "(code INTERNAL)",
    ]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("an OidcError keeps its own code (control: the injection affects only what calls the decoder)", async () => {
    home = tempHome();
    const result = await runMain(["status", "--preset", "nope"], home.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: Unknown preset "nope".');
    expect(result.stderr).toContain("(code PRESET_NOT_FOUND)");
    expect(result.stderr).not.toContain("INTERNAL");
  });
});
