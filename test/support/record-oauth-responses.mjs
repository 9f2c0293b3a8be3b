// Preloaded into a CLI child with `node --import`: appends every fetch response body to the file named
// by ENGINE_TEST_RECORD, so the test knows every secret the IdP issued (device codes included) and can
// check that none leaked; and every request's form body and Authorization header (PKCE verifiers,
// authorization codes, client secrets, assertions, subject tokens sent). Observes only; the response
// handed back is the original one.
import { appendFileSync } from "node:fs";

const file = process.env.ENGINE_TEST_RECORD;
const original = globalThis.fetch;
if (file && original) {
  globalThis.fetch = async (input, init) => {
    try {
      const url = input instanceof Request ? input.url : String(input);
      const body = init?.body;
      const form = typeof body === "string" || body instanceof URLSearchParams ? String(body) : undefined;
      const authorization = new Headers(init?.headers).get("authorization") ?? undefined;
      if (form || authorization)
        appendFileSync(file, `${JSON.stringify({ request: url, form, authorization })}\n`);
    } catch {
      // recording is best effort
    }
    const response = await original(input, init);
    try {
      const url = input instanceof Request ? input.url : String(input);
      const body = await response.clone().text();
      appendFileSync(file, `${JSON.stringify({ url, status: response.status, body })}\n`);
    } catch {
      // recording is best effort
    }
    return response;
  };
}
