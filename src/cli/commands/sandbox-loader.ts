import { ErrorCode, OidcError } from "../../core/errors.js";

type SandboxModule = typeof import("../../sandbox/sandbox.js");
type ApproveModule = typeof import("../../sandbox/approve.js");

/** The sandbox needs oidc-provider and jose, which are dev/optional dependencies: load them on demand. */
export async function loadSandbox(): Promise<SandboxModule & ApproveModule> {
  try {
    const [sandbox, approve] = await Promise.all([
      import("../../sandbox/sandbox.js"),
      import("../../sandbox/approve.js"),
    ]);
    return { ...sandbox, ...approve };
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_MODULE_NOT_FOUND") {
      throw new OidcError(ErrorCode.USAGE, "The sandbox needs the packages oidc-provider and jose.", {
        hint: "Install them next to this package: npm install --no-save oidc-provider@9 jose@6 (they are optional peer dependencies).",
        cause: error,
      });
    }
    throw error;
  }
}
