import assert from "node:assert/strict";
import { test } from "node:test";

import { escapeTarget, shortcutFor } from "../../web/static/js/shortcuts.js";

test("single keys press the bar's buttons, either case", () => {
  assert.equal(shortcutFor({ key: "m" }), "btn-mic");
  assert.equal(shortcutFor({ key: "V" }), "btn-cam");
  assert.equal(shortcutFor({ key: "s" }), "btn-share");
  assert.equal(shortcutFor({ key: "h" }), "btn-hand");
  assert.equal(shortcutFor({ key: "c" }), "btn-chat");
  assert.equal(shortcutFor({ key: "x" }), null);
  assert.equal(shortcutFor({}), null);
});

test("no shortcut with a modifier, on auto-repeat or in a field; Escape always", () => {
  for (const modifier of ["ctrlKey", "metaKey", "altKey", "repeat"]) assert.equal(shortcutFor({ key: "m", [modifier]: true }), null);
  assert.equal(shortcutFor({ key: "m" }, true), null);
  assert.equal(shortcutFor({ key: "Escape" }, true), "escape");
  assert.equal(shortcutFor({ key: "Escape", ctrlKey: true }), "escape");
});

test("Escape closes settings first, then chat, then people", () => {
  assert.equal(escapeTarget({ settings: true, chat: true, people: false }), "settings");
  assert.equal(escapeTarget({ settings: false, chat: true, people: true }), "chat");
  assert.equal(escapeTarget({ settings: false, chat: false, people: true }), "people");
  assert.equal(escapeTarget({ settings: false, chat: false, people: false }), null);
});
