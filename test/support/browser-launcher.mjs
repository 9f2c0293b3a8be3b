// A browser launcher for tests (OPENCODE_OIDC_BROWSER="node browser-launcher.mjs"): instead of a
// desktop browser, it hands the URL to the test's headless Chromium, by POSTing it to the address in
// BROWSER_HOOK_URL. Usage: node browser-launcher.mjs <url>
const [url] = process.argv.slice(2);
const hook = process.env.BROWSER_HOOK_URL;
if (!url || !hook) {
  process.stderr.write("browser-launcher: needs a URL argument and BROWSER_HOOK_URL\n");
  process.exit(2);
}
await fetch(hook, { method: "POST", body: url });
