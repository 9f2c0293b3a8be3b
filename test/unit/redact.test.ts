import { describe, expect, it } from "vitest";
import { redact, registerSecret } from "../../src/core/redact.js";

describe("redact", () => {
  it("removes registered secrets wherever they appear", () => {
    registerSecret("opaque-refresh-token-123456");
    expect(redact("refresh failed for opaque-refresh-token-123456!")).toBe("refresh failed for [redacted]!");
  });
  it("removes secrets by shape: JWTs, bearer credentials, sk- keys and OAuth parameters", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl";
    const text = `token ${jwt} header Authorization: Bearer abcdefghijklmnop key sk-live-abcdef123 body device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&user_code=WDJB-MJHT "refresh_token":"rt-9876543210"`;
    const out = redact(text);
    for (const secret of [
      jwt,
      "abcdefghijklmnop",
      "sk-live-abcdef123",
      "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
      "WDJB-MJHT",
      "rt-9876543210",
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain("[redacted-jwt]");
    expect(out).toContain("Bearer [redacted]");
  });
  it("leaves ordinary text alone", () => {
    expect(redact('models discovered {"count":3}')).toBe('models discovered {"count":3}');
  });
});
