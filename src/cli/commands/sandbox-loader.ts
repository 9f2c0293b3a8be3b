import { ErrorCode, OidcError } from "../../core/errors.js";

type SandboxModule = typeof import("../../sandbox/sandbox.js");
type ApproveModule = typeof import("../../sandbox/approve.js");

/** The sandbox needs oidc-provider and jose, which are dev/optional dependencies: load them on demand. */
export async function loadSandbox(): Promise<SandboxModule & ApproveModule> {
  // oidc-provider warns that Node 20 is unsupported (it works) and that its development login pages
  // are on (that is the sandbox's purpose): keep those two notices out of the sandbox's output.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (
      typeof args[0] === "string" &&
      /^oidc-provider WARNING: (Unsupported runtime|a quick start development-only)/.test(args[0])
    )
      return;
    warn(...args);
  };
  try {
    const [sandbox, approve] = await Promise.all([
      import("../../sandbox/sandbox.js"),
      import("../../sandbox/approve.js"),
    ]);
    return { ...sandbox, ...approve };
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_MODULE_NOT_FOUND") {
      throw new OidcError(ErrorCode.USAGE, "The sandbox needs the packages oidc-provider and jose.", {
        hint: "They are optional peer dependencies. In the folder where this package is installed, run:\n  npm install --no-save oidc-provider@9 jose@6",
        cause: error,
      });
    }
    throw error;
  }
}
