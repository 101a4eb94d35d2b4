import assert from "node:assert/strict";
import { test } from "node:test";

import { IceRefresher, turnExpiry } from "../../web/static/js/ice.js";

const NOW = 1_700_000_000_000; // ms
const turn = (expiry) => ({ urls: ["turn:10.0.0.1:3478"], username: `${expiry}:p-me`, credential: "secret" });

test("turnExpiry: the earliest TURN credential's expiry; none without TURN REST credentials", () => {
  assert.equal(turnExpiry([turn(1_700_000_600), turn(1_700_000_300), { urls: ["stun:10.0.0.1"] }]), 1_700_000_300);
  assert.equal(turnExpiry([{ urls: ["turn:x"], username: "alice", credential: "pw" }]), null);
  assert.equal(turnExpiry([{ urls: ["turn:x"], username: "1700000300:p" }]), null); // no credential
  assert.equal(turnExpiry([]), null);
  assert.equal(turnExpiry(undefined), null);
});

/** An IceRefresher on mocked timers whose fetch answers from ``answers`` in turn. */
function refresher(t, answers) {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const applied = [];
  const fetched = [];
  const r = new IceRefresher({
    fetch: async () => {
      fetched.push(true);
      return answers.shift();
    },
    apply: (servers) => applied.push(servers),
    now: () => NOW,
  });
  return { r, applied, fetched };
}

/** Let the refresher's awaited fetch settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test("IceRefresher asks at 80% of the remaining life and applies the new servers, then schedules again", async (t) => {
  const fresh = [turn(NOW / 1000 + 1000)];
  const { r, applied, fetched } = refresher(t, [{ ok: true, iceServers: fresh }]);
  r.schedule([turn(NOW / 1000 + 100)]); // 100 s left: ask after 80 s
  t.mock.timers.tick(79_999);
  assert.equal(fetched.length, 0);
  t.mock.timers.tick(1);
  await settle();
  assert.deepEqual(applied, [fresh]);
  assert.notEqual(r.timer, null); // the next refresh is scheduled
  r.stop();
});

test("IceRefresher does nothing without TURN credentials, retries when the server fails, stops when asked", async (t) => {
  const { r, fetched, applied } = refresher(t, [{ ok: false, error: { code: "timeout" } }, { ok: false, error: { code: "not-in-room" } }]);
  r.schedule([{ urls: ["stun:10.0.0.1"] }]);
  assert.equal(r.timer, null);
  r.schedule([turn(NOW / 1000 + 1)]); // nearly expired: at least 5 s
  t.mock.timers.tick(5_000);
  await settle();
  assert.equal(fetched.length, 1);
  t.mock.timers.tick(15_000); // a failed refresh is retried after 15 s
  await settle();
  assert.equal(fetched.length, 2);
  assert.equal(r.timer, null); // out of the room: no more retries
  assert.deepEqual(applied, []);
  r.schedule([turn(NOW / 1000 + 100)]);
  r.stop();
  t.mock.timers.tick(100_000);
  assert.equal(fetched.length, 2);
});
