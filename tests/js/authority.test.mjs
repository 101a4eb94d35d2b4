import assert from "node:assert/strict";
import { test } from "node:test";

import "./catalog.mjs";
import { currentRecording, NO_STATE, refusal, startedBy, stopRefusal } from "../../web/static/js/authority.js";

const names = { "p-host": "Hana", "p-sam": "Sam" };
const nameOf = (peerId) => names[peerId] || null;

test("refusal: our words for known codes, else the server's message as a sentence", () => {
  assert.equal(refusal({ ok: false, error: { code: "not-allowed", message: "x" } }), "Only the host can do that.");
  assert.equal(refusal({ ok: false, error: { code: "timeout" } }), "The server did not answer. Check your connection and try again.");
  assert.equal(refusal({ ok: false, error: { code: "busy", message: "no recorder on this server" } }), "No recorder on this server.");
  assert.equal(refusal({ ok: false, error: { code: "busy", message: "all in use!" } }), "All in use!");
  assert.equal(refusal({ ok: false }), "That did not work: try again.");
});

test("currentRecording: the room state's, or a recorder bot from an older server, or none", () => {
  const rec = { by: "p-sam", name: "Sam", since: 1 };
  assert.equal(currentRecording({ ...NO_STATE, recording: rec }, []), rec);
  assert.deepEqual(currentRecording(NO_STATE, [{ role: null }, { role: "recorder" }]), { by: null, name: "", since: 0 });
  assert.equal(currentRecording(NO_STATE, [{ role: "echo" }]), null);
});

test("stopRefusal: the host and the starter may stop; others are told who may", () => {
  const state = { ...NO_STATE, host: "p-host" };
  const bySam = { by: "p-sam", name: "Sam", since: 1 };
  const byHost = { by: "p-host", name: "Hana", since: 1 };
  const ask = (recording, selfId, known = true) => stopRefusal({ recording, known, state, selfId, nameOf });
  assert.equal(ask(bySam, "p-host"), "");
  assert.equal(ask(bySam, "p-sam"), "");
  assert.equal(ask(bySam, "p-me"), "Only the host or Sam can stop the recording");
  assert.equal(ask(byHost, "p-me"), "Only the host can stop the recording");
  assert.equal(ask({ by: "p-gone", name: "Gone", since: 1 }, "p-me"), "Only the host or Gone can stop the recording");
  assert.equal(ask(null, "p-me"), "");
  assert.equal(ask(bySam, "p-me", false), ""); // an older server lets anyone
});

test("startedBy: you, the starter's current name, or the name the server gave", () => {
  assert.equal(startedBy(null, "p-me", nameOf), "");
  assert.equal(startedBy({ by: "p-me", name: "Me" }, "p-me", nameOf), "you");
  assert.equal(startedBy({ by: "p-sam", name: "Samuel" }, "p-me", nameOf), "Sam");
  assert.equal(startedBy({ by: "p-gone", name: "Gone" }, "p-me", nameOf), "Gone");
  assert.equal(startedBy({ by: null, name: "" }, "p-me", nameOf), "");
});
