import assert from "node:assert/strict";
import { test } from "node:test";

import "./catalog.mjs";
import { joinErrorText, randomRoom, roomPath, roomStatusText } from "../../web/static/js/joining.js";

test("joinErrorText: our words for the codes we know, the server's reason for not-allowed, else its message", () => {
  assert.match(joinErrorText({ code: "room-full", message: "full" }), /^This room is full\./);
  assert.match(joinErrorText({ code: "timeout", message: "" }), /did not answer/);
  assert.equal(joinErrorText({ code: "not-allowed", message: "you were removed 1 minute ago" }), "You cannot join this call now: you were removed 1 minute ago.");
  assert.equal(joinErrorText({ code: "not-allowed", message: "removed a moment ago." }), "You cannot join this call now: removed a moment ago.");
  assert.equal(joinErrorText({ code: "not-allowed", message: "" }), "You cannot join this call now: ask the host.");
  assert.equal(joinErrorText({ code: "bad-name", message: "name too long" }), "name too long");
});

test("roomStatusText: empty room, one person, several, password protected", () => {
  assert.equal(roomStatusText(undefined), "no one here yet: you will start the call");
  assert.equal(roomStatusText({ room: "r", count: 1, locked: false }), "1 person in the call");
  assert.equal(roomStatusText({ room: "r", count: 3, locked: true }), "3 people in the call · password protected");
});

test("randomRoom: adjective-noun-NNNN from three integers, and from the browser's crypto by default", () => {
  assert.equal(randomRoom([0, 0, 0]), "bright-otter-1000");
  assert.equal(randomRoom([13, 23, 8999]), "calm-summit-9999");
  for (let i = 0; i < 50; i++) assert.match(randomRoom(), /^[a-z]+-[a-z]+-[1-9]\d{3}$/);
});

test("roomPath encodes the room and the name", () => {
  assert.equal(roomPath("team a/b"), "/r/team%20a%2Fb");
  assert.equal(roomPath("r1", "Zoë & co"), "/r/r1?name=Zo%C3%AB%20%26%20co");
});
