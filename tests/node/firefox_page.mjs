// One Firefox page for the Python tests (tests/firefox.py), driven by puppeteer-core over WebDriver BiDi.
// Debian's firefox-esr with a fake camera and microphone, no permission prompts, no mDNS host candidates
// and none of Firefox's own background traffic (every test runs in a namespace that reaches nothing).
//
// Protocol: one JSON object per line. Requests on stdin: {"id": 1, "cmd": "goto", ...}; replies on stdout:
// {"id": 1, "ok": true, "value": ...} or {"id": 1, "ok": false, "error": "..."}. Unsolicited lines:
// {"event": "ready", "version": ..., "pid": Firefox's} once the page exists, {"event": "console"|"pageerror", ...} from the page.
// Firefox's own output goes to our stderr. End of stdin (the test process went away) closes Firefox.
// Usage: node tests/node/firefox_page.mjs '{"executablePath": "/usr/bin/firefox-esr", "width": 800, "height": 520}'
// Options beyond those: "prefs" (more Firefox prefs, e.g. an origin to treat as secure) and "initScript" (run in
// every document before the page's own scripts, like Playwright's add_init_script).
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const puppeteer = require("puppeteer-core");

const options = JSON.parse(process.argv[2] || "{}");
const POLL_MS = 100;

// Added to puppeteer's own automation profile (@puppeteer/browsers: no updates, no safebrowsing lists,
// no Normandy, dummy remote-settings server, ...).
const PREFS = {
  // Media without hardware or prompts: a generated test pattern and tone, every request granted.
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  // Host candidates carry real addresses instead of mDNS names (nothing on the veth resolves .local names).
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  // Video and audio of remote peers play without a click (Chromium: --autoplay-policy=no-user-gesture-required).
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  // No OpenH264 download: the calls use VP8, built into Firefox.
  "media.gmp-gmpopenh264.autoupdate": false,
  "media.gmp-gmpopenh264.enabled": false,
  "media.gmp-widevinecdm.enabled": false,
  // No background traffic: connectivity and captive-portal probes, telemetry, pings, updates, ...
  "network.connectivity-service.enabled": false,
  "network.captive-portal-service.enabled": false,
  "network.dns.disablePrefetch": true,
  "network.prefetch-next": false,
  "network.predictor.enabled": false,
  "network.trr.mode": 5,
  "toolkit.telemetry.enabled": false,
  "toolkit.telemetry.unified": false,
  "toolkit.telemetry.archive.enabled": false,
  "toolkit.telemetry.server": "",
  "toolkit.telemetry.updatePing.enabled": false,
  "toolkit.telemetry.shutdownPingSender.enabled": false,
  "toolkit.telemetry.firstShutdownPing.enabled": false,
  "toolkit.telemetry.newProfilePing.enabled": false,
  "toolkit.telemetry.bhrPing.enabled": false,
  "datareporting.usage.uploadEnabled": false,
  "browser.ping-centre.telemetry": false,
  "browser.newtabpage.activity-stream.feeds.telemetry": false,
  "browser.newtabpage.activity-stream.telemetry": false,
  "app.update.enabled": false,
  "app.update.auto": false,
  "app.update.url": "",
  "app.normandy.enabled": false,
  "app.shield.optoutstudies.enabled": false,
  "extensions.systemAddon.update.enabled": false,
  "extensions.blocklist.enabled": false,
  "browser.safebrowsing.provider.google.updateURL": "",
  "browser.safebrowsing.provider.google4.updateURL": "",
  "browser.safebrowsing.provider.mozilla.updateURL": "",
  "browser.safebrowsing.update.enabled": false,
  "services.settings.server": "data:,#remote-settings-dummy/v1",
  "services.settings.poll_interval": 86400 * 365,
  "browser.region.network.url": "",
  "browser.region.update.enabled": false,
  "browser.search.geoip.url": "",
  "geo.provider.network.url": "",
  "security.OCSP.enabled": 0,
  "security.remote_settings.crlite_filters.enabled": false,
  "security.remote_settings.intermediates.enabled": false,
  "browser.contentblocking.report.lockwise.enabled": false,
  "identity.fxaccounts.enabled": false,
  "browser.discovery.enabled": false,
  "messaging-system.rsexperimentloader.enabled": false,
  "nimbus.enabled": false,
  "privacy.sanitize.sanitizeOnShutdown": false,
};

const SANDBOXES_OFF = Object.fromEntries(
  ["CONTENT", "RDD", "GMP", "SOCKET_PROCESS", "UTILITY"].map((name) => [`MOZ_DISABLE_${name}_SANDBOX`, "1"]),
);

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

// Playwright's convention, which the Python helpers follow: a string that is a function is called with
// ``arg``; anything else is an expression. Both run as one expression, awaited.
const FUNCTION_SOURCE = /^\s*(async\s+)?(\(|function\b|[A-Za-z_$][\w$]*\s*=>)/;

function expression(source, arg) {
  return FUNCTION_SOURCE.test(source) ? `(${source})(${JSON.stringify(arg ?? null)})` : source;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main() {
  let closing = false;
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: options.executablePath || "/usr/bin/firefox-esr",
    protocol: "webDriverBiDi",
    // Headless unless given an X display (Xvfb): headless Firefox has no WebGL on a machine without a GPU,
    // and MediaPipe (the camera's background effect) needs it; under Xvfb (DISPLAY, set by tests/firefox.py)
    // it gets Mesa's software GL.
    headless: !options.display,
    dumpio: false,
    defaultViewport: { width: options.width || 800, height: options.height || 520 },
    extraPrefsFirefox: { ...PREFS, ...(options.prefs || {}) },
    // Like Chromium's --no-sandbox: Firefox's sandboxes cannot start as root inside the test's network
    // namespace (every tab crashes at once, "Frame detached").
    // MOZ_DISABLE_NONLOCAL_CONNECTIONS is Firefox's own test switch: no connection to a non-local address,
    // and the dummy remote-settings server below is honoured (a release build ignores it otherwise).
    env: { ...process.env, ...SANDBOXES_OFF, MOZ_DISABLE_NONLOCAL_CONNECTIONS: "1" },
    // We close Firefox ourselves when stdin ends; the test process sends signals to us, not to it.
    handleSIGINT: false,
  });
  // Firefox gone (crashed, killed): end the driver too, so the test sees it at once with Firefox's stderr.
  browser.on("disconnected", () => {
    if (closing) return;
    process.stderr.write("firefox_page: Firefox went away\n");
    process.exit(2);
  });
  const child = browser.process();
  child?.stderr?.on("data", (chunk) => process.stderr.write(chunk));
  child?.stdout?.on("data", (chunk) => process.stderr.write(chunk));

  const page = await browser.newPage();
  for (const other of await browser.pages()) if (other !== page) await other.close();
  page.setDefaultTimeout(options.timeoutMs || 30_000);
  if (options.initScript) await page.evaluateOnNewDocument(options.initScript);
  page.on("console", (message) => send({ event: "console", type: message.type(), text: message.text() }));
  page.on("pageerror", (error) => send({ event: "pageerror", text: String(error?.message || error) }));
  page.on("dialog", (dialog) => dialog.dismiss().catch(() => {}));

  const commands = {
    goto: ({ url }) => page.goto(url, { waitUntil: "load" }).then(() => null),
    evaluate: ({ source, arg }) => page.evaluate(expression(source, arg)),
    click: ({ selector }) => page.locator(selector).click(),
    fill: ({ selector, value }) => page.locator(selector).fill(value),
    // Polled from here: a function injected into the page would be refused by the page's CSP.
    waitForFunction: async ({ source, arg, timeoutMs }) => {
      const deadline = Date.now() + (timeoutMs ?? 30_000);
      let last;
      for (;;) {
        last = await page.evaluate(expression(source, arg));
        if (last) return last;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${source} (last: ${JSON.stringify(last)})`);
        await sleep(POLL_MS);
      }
    },
    screenshot: ({ path }) => page.screenshot({ path }).then(() => null),
    close: async () => {
      await browser.close();
      return null;
    },
  };

  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await browser.close().catch(() => {});
    process.exit(0);
  };
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", async (line) => {
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      send({ id: null, ok: false, error: `not JSON: ${line}` });
      return;
    }
    const handler = commands[request.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${request.cmd}`);
      const value = await handler(request);
      send({ id: request.id, ok: true, value: value ?? null });
      if (request.cmd === "close") {
        closing = true;
        process.exit(0);
      }
    } catch (error) {
      send({ id: request.id, ok: false, error: String(error?.stack || error) });
    }
  });
  lines.on("close", shutdown);
  send({ event: "ready", version: await browser.version(), pid: child?.pid ?? null });
}

main().catch((error) => {
  process.stderr.write(`firefox_page: ${error?.stack || error}\n`);
  process.exit(1);
});
