import type { ClientAuthentication } from "./client-auth.js";

/** Which machine grant an identity uses. */
export type MachineKind = "client_secret" | "private_key_jwt" | "client_assertion" | "token_exchange";

/** What one grant needs, read fresh for every grant (a rotated assertion or subject token is picked up). */
export interface MachineMaterial {
  auth: ClientAuthentication;
  subjectToken?: { token: string; type: string };
}

/**
 * A non-interactive identity (CI, servers): a confidential client, or a token to exchange. The host
 * reads it from the environment; the engine only sees what `load` returns, at every grant.
 */
export interface MachineIdentity {
  kind: MachineKind;
  clientId: string;
  scopes: string[];
  /** The environment variables it comes from, named in errors and in `status` (never their values). */
  variables: string[];
  load(): Promise<MachineMaterial>;
}

export const MACHINE_KIND_LABELS: Record<MachineKind, string> = {
  client_secret: "client credentials (client secret)",
  private_key_jwt: "client credentials (private_key_jwt)",
  client_assertion: "client credentials (client assertion)",
  token_exchange: "token exchange (RFC 8693)",
};
