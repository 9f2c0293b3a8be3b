import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { redact, registerSecret } from "../../src/core/redact.js";
import { fileLogger } from "../../src/store/log-file.js";

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
  it("keeps the log's own code field and still removes authorization codes (L6)", () => {
    const dir = mkdtempSync(join(tmpdir(), "redact-test-"));
    try {
      const file = join(dir, "log", "test.log");
      const logger = fileLogger({ file, maxBytes: 1 << 20 });
      logger.log("warn", "session ended by the identity provider", { code: "SESSION_ENDED" });
      logger.log("error", "device login failed", { code: "unknown", error: "x" });
      logger.log("info", "callback https://app.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz");
      logger.log(
        "info",
        "sent grant_type=authorization_code&code=Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf",
      );
      const log = readFileSync(file, "utf8");
      expect(log).toContain('{"code":"SESSION_ENDED"}');
      expect(log).toContain('{"code":"unknown","error":"x"}');
      expect(log).not.toContain("SplxlOBeZQQYbYS6WxSbIA");
      expect(log).not.toContain("Qcb0Orv1zh30vL1MPRsbm");
      expect(log).toContain("?code=[redacted]&state=xyz");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("removes a registered secret also in its form-encoded shape, and a revocation request's token", () => {
    registerSecret("opaque/refresh+token=42");
    expect(redact("body: refresh=opaque%2Frefresh%2Btoken%3D42&x=1")).toBe("body: refresh=[redacted]&x=1");
    expect(redact("token=8xLOxBtZp8QbvUWhAKm6&token_type_hint=refresh_token")).toBe(
      "token=[redacted]&token_type_hint=refresh_token",
    );
  });
});
