import assert from "node:assert/strict";
import { test } from "node:test";

import { hue, hueClass, initials, linkParts, unreadLabel } from "../../web/static/js/text.js";

test("initials: first and last word, one letter for one word, ? for nothing", () => {
  assert.equal(initials("Ada Lovelace"), "AL");
  assert.equal(initials("  grace  brewster  hopper "), "GH");
  assert.equal(initials("bob"), "B");
  assert.equal(initials(""), "?");
  assert.equal(initials(null), "?");
  assert.equal(initials("😀 smile"), "😀S"); // a whole code point, not half a surrogate pair
});

test("hue is stable per name and hueClass is one of 12 classes", () => {
  assert.equal(hue("Alice"), hue("Alice"));
  assert.notEqual(hue("Alice"), hue("Bob"));
  for (const name of ["Alice", "Bob", "Zoë", "", "x".repeat(40)]) {
    const h = hue(name);
    assert.ok(h >= 0 && h < 360, `${name}: ${h}`);
    assert.match(hueClass(name), /^hue-(\d|1[01])$/);
  }
});

test("linkParts finds web links and our recording downloads, and keeps all the text", () => {
  const text = "see https://example.com/a?b=1 and /recordings/call-1.1700000000.sig_-x ok";
  const parts = linkParts(text);
  assert.deepEqual(parts, [
    { text: "see " },
    { link: "https://example.com/a?b=1", own: false },
    { text: " and " },
    { link: "/recordings/call-1.1700000000.sig_-x", own: true },
    { text: " ok" },
  ]);
  assert.equal(parts.map((p) => p.text ?? p.link).join(""), text);
});

test("linkParts leaves plain text, other paths and non-web schemes alone", () => {
  assert.deepEqual(linkParts("hello"), [{ text: "hello" }]);
  assert.deepEqual(linkParts(""), []);
  assert.deepEqual(linkParts("javascript:alert(1) /recordings/no-signature ftp://x"), [{ text: "javascript:alert(1) /recordings/no-signature ftp://x" }]);
  // A link ends at whitespace, quotes and angle brackets.
  assert.deepEqual(linkParts('<http://a.b/c>"'), [{ text: "<" }, { link: "http://a.b/c", own: false }, { text: '>"' }]);
  assert.deepEqual(linkParts("http://a http://b"), [{ link: "http://a", own: false }, { text: " " }, { link: "http://b", own: false }]);
});

test("unreadLabel caps at 9+", () => {
  assert.equal(unreadLabel(1), "1");
  assert.equal(unreadLabel(9), "9");
  assert.equal(unreadLabel(10), "9+");
});
