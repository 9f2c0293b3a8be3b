import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { parseStoreDocument, type SealedEnvelope, STORE_VERSION, type StoreData } from "./store-document.js";

/**
 * The store document encrypted with AES-256-GCM (node:crypto) under a 256-bit key that only the OS
 * keyring holds. The file keeps schema version 1 with one `sealed` member instead of the entries.
 */
const AAD = Buffer.from("opencode-oidc token store v1");

export function newStoreKey(): string {
  return randomBytes(32).toString("base64");
}

export function sealDocument(data: StoreData, key: string, keyring: SealedEnvelope["keyring"]): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(key, "base64"), iv).setAAD(AAD);
  const plain = Buffer.from(JSON.stringify(data));
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  const envelope: SealedEnvelope = {
    alg: "A256GCM",
    keyring,
    iv: iv.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
    data: sealed.toString("base64"),
  };
  return `${JSON.stringify({ version: STORE_VERSION, sealed: envelope }, null, 2)}\n`;
}

/** The document inside, or undefined if it does not open with this key (altered, or another key). */
export function openDocument(
  envelope: SealedEnvelope,
  key: string,
): ReturnType<typeof parseStoreDocument> | undefined {
  const secret = Buffer.from(key, "base64");
  if (secret.length !== 32) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", secret, Buffer.from(envelope.iv, "base64"), {
      authTagLength: 16,
    }).setAAD(AAD);
    decipher.setAuthTag(Buffer.from(envelope.tag, "base64"));
    const plain = Buffer.concat([decipher.update(Buffer.from(envelope.data, "base64")), decipher.final()]);
    return parseStoreDocument(plain.toString("utf8"));
  } catch {
    return undefined;
  }
}
