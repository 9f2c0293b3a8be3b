/** Collecting the secrets a run was issued, and finding them where they must not be. */
import { existsSync, readFileSync } from "node:fs";

const SECRET_FIELDS = ["access_token", "refresh_token", "id_token", "device_code", "user_code"] as const;
/** Secrets a client sends (form fields of its requests). */
const SENT_FIELDS = [
  "code",
  "code_verifier",
  "client_secret",
  "client_assertion",
  "subject_token",
  "refresh_token",
  "device_code",
] as const;
const STORE_FIELDS = ["accessToken", "refreshToken", "idToken"] as const;

export class SecretSet {
  readonly values = new Map<string, string>();

  add(kind: string, value: unknown): void {
    if (typeof value === "string" && value.length >= 6) this.values.set(value, kind);
  }

  kinds(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const kind of this.values.values()) out[kind] = (out[kind] ?? 0) + 1;
    return out;
  }

  /** From the JSON lines written by record-oauth-responses.mjs: what was sent (form fields, Basic credentials). */
  addRecordedRequests(file: string): void {
    if (!existsSync(file)) return;
    for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
      const { form, authorization } = JSON.parse(line) as { form?: string; authorization?: string };
      if (form) {
        const params = new URLSearchParams(form);
        for (const field of SENT_FIELDS) this.add(field, params.get(field));
      }
      const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? "")?.[1];
      if (basic) {
        const [, password] = Buffer.from(basic, "base64").toString("utf8").split(":");
        this.add("client_secret", password ? decodeURIComponent(password) : undefined);
        this.add("basic_credentials", basic);
      }
    }
  }

  /** From the JSON lines written by record-oauth-responses.mjs. */
  addRecordedResponses(file: string): void {
    if (!existsSync(file)) return;
    for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
      const { body } = JSON.parse(line) as { body?: string };
      if (body === undefined) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        continue;
      }
      if (typeof parsed !== "object" || parsed === null) continue;
      for (const field of SECRET_FIELDS) this.add(field, (parsed as Record<string, unknown>)[field]);
    }
  }

  /** From a token store file (every session entry). */
  addStore(file: string): void {
    if (!existsSync(file)) return;
    const data = JSON.parse(readFileSync(file, "utf8")) as {
      sessions?: Record<string, Record<string, unknown>>;
    };
    for (const entry of Object.values(data.sessions ?? {}))
      for (const field of STORE_FIELDS) this.add(field, entry[field]);
  }

  /** Where `text` contains a secret: "kind …last6" for each (never the secret itself). */
  leaksIn(text: string, allow: ReadonlySet<string> = new Set()): string[] {
    const found: string[] = [];
    for (const [value, kind] of this.values) {
      if (allow.has(kind)) continue;
      if (text.includes(value)) found.push(`${kind} …${value.slice(-6)}`);
    }
    return found;
  }
}
