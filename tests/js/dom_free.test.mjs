// The browser client's DOM-free modules stay DOM-free: no browser globals in their code (comments aside),
// and they import only each other, so Node can load and test every one of them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const JS = new URL("../../web/static/js/", import.meta.url);
const DOM_FREE = ["authority", "client", "i18n", "ice", "joining", "layout", "peers", "quality", "shortcuts", "sizing-math", "text"];
const BROWSER = /\b(document|window|navigator|location|localStorage|sessionStorage|HTMLElement|RTCPeerConnection|MediaStream|ResizeObserver|IntersectionObserver|AudioContext|requestAnimationFrame)\b/;

/** The code of a module without its comments (string contents stay; none of ours names a global). */
function code(name) {
  return readFileSync(new URL(`${name}.js`, JS), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

for (const name of DOM_FREE) {
  test(`${name}.js uses no browser global and imports only DOM-free modules`, async () => {
    const source = code(name);
    const hit = source.match(BROWSER);
    assert.equal(hit, null, `${name}.js uses ${hit?.[0]}`);
    for (const [, imported] of source.matchAll(/from\s+"\.\/([\w-]+)\.js"/g)) assert.ok(DOM_FREE.includes(imported), `${name}.js imports ${imported}.js`);
    await import(new URL(`${name}.js`, JS)); // and it loads where there is no DOM
  });
}
