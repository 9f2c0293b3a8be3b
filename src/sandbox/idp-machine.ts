/**
 * Machine identities on the sandbox IdP: confidential clients for the client credentials grant
 * (client_secret_basic, client_secret_post, private_key_jwt, a client assertion from a workload
 * issuer) and an RFC 8693 token-exchange grant that trusts that workload issuer's tokens.
 * Test/sandbox use only.
 */
import { createPrivateKey, randomBytes, randomUUID } from "node:crypto";
import { exportJWK, exportPKCS8, generateKeyPair, type JWK, jwtVerify, SignJWT } from "jose";

import {
  ACCESS_TOKEN_TYPE,
  JWT_TOKEN_TYPE as JWT_TYPE,
  TOKEN_EXCHANGE_GRANT,
} from "../core/oauth/token-types.js";

export { TOKEN_EXCHANGE_GRANT };

/** The issuer of workload tokens (a CI provider, a Kubernetes cluster) the sandbox IdP trusts. */
export const WORKLOAD_ISSUER = "https://workload.sandbox.invalid";

export interface MachineClients {
  /** client_secret_basic. */
  secretBasic: { clientId: string; clientSecret: string };
  /** client_secret_post. */
  secretPost: { clientId: string; clientSecret: string };
  /** private_key_jwt: its private key as PKCS#8 PEM and as a JWK (with kid). */
  privateKeyJwt: { clientId: string; privateKeyPem: string; privateJwk: JWK };
  /** private_key_jwt with assertions signed by the workload issuer (workload identity federation). */
  assertion: {
    clientId: string;
    mint(options?: { expiresInSeconds?: number; audience?: string }): Promise<string>;
  };
  /** RFC 8693 token exchange (a public client): subject tokens from the workload issuer. */
  exchange: {
    clientId: string;
    mintSubjectToken(
      claims?: Record<string, unknown>,
      options?: { expiresInSeconds?: number },
    ): Promise<string>;
  };
}

interface Keys {
  clientKey: { privateKey: CryptoKey; publicJwk: JWK; privateJwk: JWK; pem: string };
  workloadKey: { privateKey: CryptoKey; publicKey: CryptoKey; publicJwk: JWK };
}

let keys: Promise<Keys> | undefined;

/** Generated once per process (RSA generation costs ~100 ms). */
function getKeys(): Promise<Keys> {
  keys ??= (async () => {
    const rsa = await generateKeyPair("RS256", { extractable: true });
    const kid = `machine-${randomUUID().slice(0, 8)}`;
    const privateJwk = { ...(await exportJWK(rsa.privateKey)), kid, alg: "RS256" };
    const publicJwk = { ...(await exportJWK(rsa.publicKey)), kid, alg: "RS256", use: "sig" };
    // PKCS#8 from jose; the PEM a CI secret usually holds.
    const pem = await exportPKCS8(rsa.privateKey);
    createPrivateKey(pem); // fails early if the PEM is not what Node can read
    const ec = await generateKeyPair("ES256", { extractable: true });
    const workloadJwk = { ...(await exportJWK(ec.publicKey)), kid: "workload", alg: "ES256", use: "sig" };
    return {
      clientKey: { privateKey: rsa.privateKey, publicJwk, privateJwk, pem },
      workloadKey: { privateKey: ec.privateKey, publicKey: ec.publicKey, publicJwk: workloadJwk },
    };
  })();
  return keys;
}

export interface MachineSetup {
  machine: MachineClients;
  /** Client metadata to register with oidc-provider. */
  clients: Array<Record<string, unknown>>;
  /** Handler for the token-exchange grant (registered with provider.registerGrantType). */
  tokenExchange(ctx: TokenExchangeContext): Promise<void>;
  tokenExchangeParameters: string[];
}

export interface TokenExchangeContext {
  oidc: { params: Record<string, unknown>; client: { clientId: string } };
  body: unknown;
}

type ErrorClass = new (description?: string) => Error;

export interface MachineSetupOptions {
  issuer: string;
  apiScopes: string[];
  accessTokenTtl: number;
  mintAccessToken(
    claims: Record<string, unknown>,
    opts: { expiresInSeconds?: number; audience?: string },
  ): Promise<string>;
  /** oidc-provider's error classes. */
  errors: { InvalidGrant: ErrorClass; InvalidRequest: ErrorClass };
}

export async function machineSetup(options: MachineSetupOptions): Promise<MachineSetup> {
  const { clientKey, workloadKey } = await getKeys();
  const secret = () => randomBytes(24).toString("base64url");
  const machine: MachineClients = {
    secretBasic: { clientId: "sandbox-machine", clientSecret: secret() },
    secretPost: { clientId: "sandbox-machine-post", clientSecret: secret() },
    privateKeyJwt: {
      clientId: "sandbox-machine-jwt",
      privateKeyPem: clientKey.pem,
      privateJwk: clientKey.privateJwk,
    },
    assertion: {
      clientId: "sandbox-workload",
      async mint(o = {}) {
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({})
          .setProtectedHeader({ alg: "ES256", kid: "workload", typ: "JWT" })
          .setIssuer("sandbox-workload")
          .setSubject("sandbox-workload")
          .setAudience(o.audience ?? options.issuer)
          .setIssuedAt(now)
          .setJti(randomUUID())
          .setExpirationTime(now + (o.expiresInSeconds ?? 300))
          .sign(workloadKey.privateKey);
      },
    },
    exchange: {
      clientId: "sandbox-exchange",
      async mintSubjectToken(claims = {}, o = {}) {
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ repository: "acme/app", ...claims })
          .setProtectedHeader({ alg: "ES256", kid: "workload", typ: "JWT" })
          .setIssuer(WORKLOAD_ISSUER)
          .setSubject(typeof claims.sub === "string" ? claims.sub : "repo:acme/app:ref:refs/heads/main")
          .setAudience(options.issuer)
          .setIssuedAt(now)
          .setJti(randomUUID())
          .setExpirationTime(now + (o.expiresInSeconds ?? 300))
          .sign(workloadKey.privateKey);
      },
    },
  };
  const confidential = { grant_types: ["client_credentials"], response_types: [], redirect_uris: [] };
  const clients = [
    {
      client_id: machine.secretBasic.clientId,
      client_secret: machine.secretBasic.clientSecret,
      token_endpoint_auth_method: "client_secret_basic",
      ...confidential,
    },
    {
      client_id: machine.secretPost.clientId,
      client_secret: machine.secretPost.clientSecret,
      token_endpoint_auth_method: "client_secret_post",
      ...confidential,
    },
    {
      client_id: machine.privateKeyJwt.clientId,
      token_endpoint_auth_method: "private_key_jwt",
      jwks: { keys: [clientKey.publicJwk] },
      ...confidential,
    },
    {
      client_id: machine.assertion.clientId,
      token_endpoint_auth_method: "private_key_jwt",
      jwks: { keys: [workloadKey.publicJwk] },
      ...confidential,
    },
    {
      client_id: machine.exchange.clientId,
      token_endpoint_auth_method: "none",
      grant_types: [TOKEN_EXCHANGE_GRANT],
      response_types: [],
      redirect_uris: [],
    },
  ];

  async function tokenExchange(ctx: TokenExchangeContext): Promise<void> {
    const { InvalidGrant, InvalidRequest } = options.errors;
    const params = ctx.oidc.params;
    const subjectToken = params.subject_token;
    if (typeof subjectToken !== "string" || !subjectToken) throw new InvalidRequest("missing subject_token");
    if (params.subject_token_type !== JWT_TYPE && params.subject_token_type !== ACCESS_TOKEN_TYPE) {
      throw new InvalidRequest("unsupported subject_token_type");
    }
    let subject: string;
    try {
      const { payload } = await jwtVerify(subjectToken, workloadKey.publicKey, {
        issuer: WORKLOAD_ISSUER,
        audience: options.issuer,
      });
      subject = String(payload.sub);
    } catch {
      throw new InvalidGrant("the subject token is not accepted");
    }
    const requested = typeof params.scope === "string" ? params.scope.split(" ").filter(Boolean) : [];
    const scope = (requested.length ? requested : options.apiScopes).filter((s) =>
      options.apiScopes.includes(s),
    );
    const accessToken = await options.mintAccessToken(
      { sub: subject, client_id: ctx.oidc.client.clientId, scope: scope.join(" ") },
      { expiresInSeconds: options.accessTokenTtl },
    );
    ctx.body = {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: "Bearer",
      expires_in: options.accessTokenTtl,
      ...(scope.length > 0 && { scope: scope.join(" ") }),
    };
  }

  return {
    machine,
    clients,
    tokenExchange,
    tokenExchangeParameters: [
      "subject_token",
      "subject_token_type",
      "requested_token_type",
      "actor_token",
      "actor_token_type",
      "audience",
      "resource",
      "scope",
    ],
  };
}
