import assert from "node:assert/strict";
import { test } from "node:test";

import { handQueue, PeerTable } from "../../web/static/js/peers.js";

const peer = (peerId, extra = {}) => ({ peerId, name: peerId.toUpperCase(), kind: "human", role: null, audio: true, video: true, screen: false, hand: false, ...extra });

test("reset, add, rename, media and remove keep one record per peer for its whole stay", () => {
  const table = new PeerTable();
  table.reset([peer("a"), peer("b")]);
  const a = table.get("a");
  assert.equal(table.add(peer("a")), null); // already there
  table.rename("a", "Ann");
  const change = table.media({ peerId: "a", audio: false, hand: true });
  assert.equal(change.peer, a);
  assert.deepEqual(change.before, peer("a", { name: "Ann" }));
  assert.deepEqual(a, peer("a", { name: "Ann", audio: false, hand: true }));
  assert.equal(table.remove("a"), a);
  assert.equal(table.remove("a"), null);
  assert.deepEqual(table.list(), [peer("b")]);
  assert.equal(table.size, 1);
});

test("unknown peers: rename and media change nothing; a new peer comes in with add", () => {
  const table = new PeerTable();
  assert.equal(table.rename("x", "X"), null);
  assert.equal(table.media({ peerId: "x", audio: false }), null);
  assert.equal(table.media(undefined), null);
  assert.equal(table.add({ name: "no id" }), null);
  const c = table.add(peer("c"));
  assert.deepEqual(c, peer("c"));
  assert.equal(table.has("c"), true);
  table.clear();
  assert.equal(table.size, 0);
});

test("list() gives copies: changing them does not change the table", () => {
  const table = new PeerTable();
  table.reset([peer("a")]);
  table.list()[0].name = "changed";
  assert.equal(table.get("a").name, "A");
});

test("handQueue: raised hands numbered in the order the server saw them go up", () => {
  const people = [
    { peerId: "a", hand: true, handAt: 300 },
    { peerId: "b", hand: false, handAt: null },
    { peerId: "c", hand: true, handAt: 100 },
    { peerId: "self", hand: true, handAt: 200 },
    { peerId: "old", hand: true }, // an older server: no time, last
  ];
  assert.deepEqual([...handQueue(people)], [["c", 1], ["self", 2], ["a", 3], ["old", 4]]);
  assert.equal(handQueue([]).size, 0);
});
