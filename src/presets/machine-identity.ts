import { readFile } from "node:fs/promises";
import { MAX_CREDENTIAL_FILE_BYTES } from "../core/defaults.js";
import { ErrorCode, OidcError } from "../core/errors.js";
import type { ClientAuthentication } from "../core/oauth/client-auth.js";
import type { MachineIdentity, MachineKind, MachineMaterial } from "../core/oauth/machine-identity.js";
import { JWT_TOKEN_TYPE } from "../core/oauth/token-types.js";
import { registerSecret } from "../core/redact.js";
import { MACHINE_TARGET_PREFIX } from "./env-overlay.js";
import type { Preset } from "./types.js";

/** What a machine identity is read from; each is a `/machine/<target>` in a preset's `env` map. */
export const MACHINE_TARGETS = [
  "clientId",
  "clientSecret",
  "privateKeyFile",
  "clientAssertionFile",
  "subjectTokenFile",
  "subjectTokenType",
  "scopes",
] as const;
export type MachineTarget = (typeof MACHINE_TARGETS)[number];

/** The variables of the default preset (a preset's own `env` entries come first). */
export const DEFAULT_MACHINE_VARIABLES: Record<MachineTarget, string> = {
  clientId: "OPENCODE_OIDC_CLIENT_ID",
  clientSecret: "OPENCODE_OIDC_CLIENT_SECRET",
  privateKeyFile: "OPENCODE_OIDC_PRIVATE_KEY_FILE",
  clientAssertionFile: "OPENCODE_OIDC_CLIENT_ASSERTION_FILE",
  subjectTokenFile: "OPENCODE_OIDC_SUBJECT_TOKEN_FILE",
  subjectTokenType: "OPENCODE_OIDC_SUBJECT_TOKEN_TYPE",
  scopes: "OPENCODE_OIDC_SCOPES",
};

/** Scopes of a person's login that a machine grant does not ask for. */
export const OIDC_ONLY_SCOPES = new Set(["openid", "profile", "email", "offline_access"]);

interface Found {
  variable: string;
  value: string;
}

/** Every variable that may supply `target` for this preset, its own first. */
export function machineVariables(preset: Preset, isDefault: boolean, target: MachineTarget): string[] {
  const own = Object.keys(preset.env).filter((v) => preset.env[v] === `${MACHINE_TARGET_PREFIX}${target}`);
  return isDefault ? [...own, DEFAULT_MACHINE_VARIABLES[target]] : own;
}

/**
 * The machine identity the environment describes for one preset, or undefined when it describes
 * none. Nothing is read from files here: the key, assertion or subject token is read at every grant.
 * Contradictory settings (two credentials, no client id) are MACHINE_IDENTITY_INVALID.
 */
export function machineIdentityFromEnv(
  preset: Preset,
  env: NodeJS.ProcessEnv,
  isDefault: boolean,
): MachineIdentity | undefined {
  if (!preset.auth.machine.enabled) return undefined;
  const find = (target: MachineTarget): Found | undefined => {
    for (const variable of machineVariables(preset, isDefault, target)) {
      const value = env[variable]?.trim();
      if (value) return { variable, value };
    }
    return undefined;
  };
  const secret = find("clientSecret");
  const keyFile = find("privateKeyFile");
  const assertionFile = find("clientAssertionFile");
  const subjectFile = find("subjectTokenFile");
  const credentials = [secret, keyFile, assertionFile].filter((f): f is Found => f !== undefined);
  if (credentials.length === 0 && !subjectFile) return undefined;
  if (credentials.length > 1) {
    throw new OidcError(
      ErrorCode.MACHINE_IDENTITY_INVALID,
      `Several machine credentials are set for ${preset.name}: ${credentials.map((c) => c.variable).join(", ")}.`,
      { hint: "Set only one of them (a client secret, a private key file or a client assertion file)." },
    );
  }
  const credential = credentials[0];
  const clientIdVar = find("clientId");
  const clientId = clientIdVar?.value ?? preset.oidc.clientId;
  const used = [...(subjectFile ? [subjectFile] : []), ...credentials];
  if (!clientId) {
    throw new OidcError(
      ErrorCode.MACHINE_IDENTITY_INVALID,
      `${used.map((u) => u.variable).join(" and ")} ${used.length > 1 ? "are" : "is"} set, but there is no client id for ${preset.name}.`,
      {
        hint: `Set ${machineVariables(preset, isDefault, "clientId")[0] ?? "the preset's /machine/clientId variable"} or the preset's oidc.clientId.`,
      },
    );
  }
  const scopesVar = find("scopes");
  const scopes = scopesVar
    ? scopesVar.value.split(/[\s,]+/).filter(Boolean)
    : preset.oidc.scopes.filter((s) => !OIDC_ONLY_SCOPES.has(s));
  const kind: MachineKind = subjectFile
    ? "token_exchange"
    : secret
      ? "client_secret"
      : keyFile
        ? "private_key_jwt"
        : "client_assertion";
  if (secret) registerSecret(secret.value);
  const subjectType = find("subjectTokenType")?.value ?? JWT_TOKEN_TYPE;
  const method = preset.auth.machine.clientSecretMethod;

  const loadAuth = async (): Promise<ClientAuthentication> => {
    if (!credential) return { method: "none" };
    if (credential === secret) return { method, secret: credential.value };
    const text = await readCredentialFile(credential);
    if (credential === keyFile) {
      // Loaded with the first grant (it brings the OAuth library): never on a start with a fresh token.
      const { importPrivateKey } = await import("../core/oauth/client-auth.js");
      const { key, kid } = await importPrivateKey(text, `${credential.variable} (${credential.value})`);
      return kid ? { method: "private_key_jwt", key, kid } : { method: "private_key_jwt", key };
    }
    return { method: "client_assertion", assertion: text };
  };

  return {
    kind,
    clientId,
    scopes,
    variables: [...used.map((u) => u.variable), ...(clientIdVar ? [clientIdVar.variable] : [])],
    async load(): Promise<MachineMaterial> {
      const auth = await loadAuth();
      if (!subjectFile) return { auth };
      return { auth, subjectToken: { token: await readCredentialFile(subjectFile), type: subjectType } };
    },
  };
}

/** A key, assertion or token file, read now (they rotate); the error names the variable, never the content. */
async function readCredentialFile({ variable, value: path }: Found): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "does not exist"
        : code === "EACCES"
          ? "cannot be read (permission denied)"
          : `cannot be read (${code ?? "error"})`;
    throw new OidcError(ErrorCode.MACHINE_IDENTITY_INVALID, `The file ${path} named by ${variable} ${why}.`, {
      hint: `Point ${variable} at the file, or unset it.`,
    });
  }
  if (Buffer.byteLength(text) > MAX_CREDENTIAL_FILE_BYTES) {
    throw new OidcError(
      ErrorCode.MACHINE_IDENTITY_INVALID,
      `The file ${path} named by ${variable} is too large for a credential.`,
      {
        hint: `Point ${variable} at the key, assertion or token file itself.`,
      },
    );
  }
  const trimmed = text.trim();
  if (!trimmed) {
    throw new OidcError(
      ErrorCode.MACHINE_IDENTITY_INVALID,
      `The file ${path} named by ${variable} is empty.`,
      {
        hint: "Write the credential before starting, or unset the variable.",
      },
    );
  }
  registerSecret(trimmed);
  return trimmed;
}
