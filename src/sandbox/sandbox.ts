import { randomBytes } from "node:crypto";
import { type Gateway, type GatewayModel, startGateway } from "./gateway.js";
import { type IdpOptions, startIdp, type TestIdp } from "./idp.js";

export interface SandboxOptions {
  idpPort?: number;
  gatewayPort?: number;
  idp?: Omit<IdpOptions, "port">;
  models?: GatewayModel[];
  log?: (line: string) => void;
}

export interface Sandbox {
  idp: TestIdp;
  gateway: Gateway;
  /** The sandbox gateway's API key (a throwaway value made at start). */
  apiKey: string;
  /** Environment variables that point the Haiilo preset at the sandbox. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export const SANDBOX_CLIENT_ID = "sandbox-cli";
export const SANDBOX_AUDIENCE = "api://sandbox-gateway";

/** A real OIDC server and a JWT-checking, OpenAI-compatible gateway on loopback, wired to each other. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const idp = await startIdp({
    clientId: SANDBOX_CLIENT_ID,
    audience: SANDBOX_AUDIENCE,
    scopes: ["haiiloai:inference"],
    deviceInterval: 1,
    log: options.log,
    ...options.idp,
    port: options.idpPort ?? 0,
  });
  const apiKey = `sk-sandbox-${randomBytes(12).toString("hex")}`;
  let gateway: Gateway;
  try {
    gateway = await startGateway({
      port: options.gatewayPort ?? 0,
      issuer: idp.issuer,
      audiences: [idp.audience],
      jwksUri: idp.jwksUri,
      apiKeys: { "sandbox-client": apiKey },
      modelInfo: true,
      log: options.log,
      ...(options.models && { models: options.models }),
    });
  } catch (error) {
    await idp.close();
    throw error;
  }
  return {
    idp,
    gateway,
    apiKey,
    env: {
      OKTA_ISSUER: idp.issuer,
      OKTA_CLIENT_ID: idp.clientId,
      OKTA_AUDIENCE: idp.audience,
      HAIILO_AI_BASE_URL: gateway.url,
    },
    async close() {
      await Promise.allSettled([gateway.close(), idp.close()]);
    },
  };
}
