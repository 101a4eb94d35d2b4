import assert from "node:assert/strict";
import { test } from "node:test";

import "./catalog.mjs";
import { ActiveSpeaker, grade, quality, roundTrip, Speaking, SPEAKING_HOLD_MS } from "../../web/static/js/quality.js";

const GOOD = { rtt: 40, loss: 0, fps: 30, state: "connected" };

test("grade: good, fair and poor by round trip, loss and frame rate", () => {
  assert.equal(grade(GOOD, true), "good");
  assert.equal(grade({ ...GOOD, rtt: null }, true), "good"); // no RTT yet is no reason to worry
  assert.equal(grade({ ...GOOD, rtt: 151 }, true), "fair");
  assert.equal(grade({ ...GOOD, rtt: 401 }, true), "poor");
  assert.equal(grade({ ...GOOD, loss: 0.03 }, true), "fair");
  assert.equal(grade({ ...GOOD, loss: 0.09 }, true), "poor");
  assert.equal(grade({ ...GOOD, fps: 12 }, true), "fair");
  assert.equal(grade({ ...GOOD, fps: 5 }, true), "poor");
});

test("grade: frame rate counts only when we expect video and frames come; any state but connected is poor", () => {
  assert.equal(grade({ ...GOOD, fps: 5 }, false), "good");
  assert.equal(grade({ ...GOOD, fps: 0 }, true), "good");
  assert.equal(grade({ ...GOOD, state: "disconnected" }, true), "poor");
  assert.equal(grade({ ...GOOD, state: undefined }, true), "good");
});

test("quality: the tile's words", () => {
  assert.deepEqual(quality({ ...GOOD, rtt: 200.4, loss: 0.031, fps: 24.6 }, true), {
    level: "fair",
    detail: "Fair connection: round trip 200 ms, loss 3.1%, 25 fps",
  });
  assert.equal(quality({ ...GOOD, rtt: null }, true).detail, "Good connection: round trip –, loss 0.0%, 30 fps");
});

test("Speaking: a loud sample lights the ring, which holds for 700 ms", () => {
  const speaking = new Speaking();
  assert.equal(speaking.remote("p1", 0.5, true, 1000), true);
  assert.equal(speaking.remote("p1", 0, true, 1000 + SPEAKING_HOLD_MS - 1), true);
  assert.equal(speaking.remote("p1", 0, true, 1000 + SPEAKING_HOLD_MS), false);
  assert.equal(speaking.remote("p2", 0.01, true, 1000), false); // below the threshold
  assert.equal(speaking.remote("p3", 0.5, false, 1000), false); // muted peers never speak
});

test("Speaking: talking while muted shows the hint for 3 s; unmuted it lights our ring instead", () => {
  const speaking = new Speaking();
  assert.deepEqual(speaking.self(0.5, false, true, 1000), { speaking: false, mutedHint: true });
  assert.deepEqual(speaking.self(0, false, true, 3999), { speaking: false, mutedHint: true });
  assert.deepEqual(speaking.self(0, false, true, 4000), { speaking: false, mutedHint: false });
  assert.deepEqual(speaking.self(0.15, false, true, 5000), { speaking: false, mutedHint: false }); // under 1.5× the threshold
  assert.deepEqual(speaking.self(0.5, false, false, 5000), { speaking: false, mutedHint: false }); // no meter
  assert.deepEqual(speaking.self(0.5, true, true, 6000), { speaking: true, mutedHint: false });
});

test("roundTrip: RTT, rates since the previous sample, loss and the echoed video", () => {
  const report = [
    { type: "candidate-pair", nominated: true, state: "succeeded", currentRoundTripTime: 0.025 },
    { type: "candidate-pair", nominated: false, state: "waiting", currentRoundTripTime: 0.5 },
    { type: "outbound-rtp", bytesSent: 250_000 },
    { type: "inbound-rtp", kind: "audio", bytesReceived: 50_000, packetsLost: 1, packetsReceived: 99 },
    { type: "inbound-rtp", kind: "video", bytesReceived: 150_000, packetsLost: 3, packetsReceived: 897, frameWidth: 640 },
  ];
  const first = roundTrip(report, null, 1000);
  assert.equal(first.rtt, 25);
  assert.equal(first.upKbps, 0); // no previous sample: no rate yet
  assert.equal(first.lossPct, 0.4);
  assert.equal(first.video.frameWidth, 640);
  const second = roundTrip(report, { time: 0, up: 125_000, down: 100_000 }, 1000);
  assert.equal(second.upKbps, 1000); // 125 kB in 1 s
  assert.equal(second.downKbps, 800);
  assert.deepEqual(roundTrip([], null, 0), { sample: { time: 0, up: 0, down: 0 }, rtt: null, upKbps: 0, downKbps: 0, lossPct: null, video: null });
});

test("ActiveSpeaker: takes over after a held run of speech, keeps the stage through pauses", () => {
  const active = new ActiveSpeaker(1000, 500);
  // The monitor polls every 200 ms; ``ids`` talk from ``from`` to ``to`` (ms), silence otherwise.
  const talk = (ids, from, to) => {
    let current;
    for (let t = from; t <= to; t += 200) current = active.update(new Set(ids), t);
    return current;
  };
  assert.equal(talk(["a"], 0, 800), null); // not long enough yet
  assert.equal(talk([], 1000, 1000), null); // a pause between words (400 ms)...
  assert.equal(talk(["a"], 1200, 1200), "a"); // ...does not break the run: 1.2 s of it
  assert.equal(talk([], 1600, 5000), "a"); // silence: still a
  assert.equal(talk(["b"], 5200, 5400), "a"); // b's cough
  assert.equal(talk(["a", "b"], 5600, 8000), "a"); // both talk: whoever has the stage keeps it
  assert.equal(talk(["b"], 8200, 8400), "a"); // a's pause shorter than the gap: still a's run
  assert.equal(talk(["b"], 8600, 8600), "b"); // a stopped, b has talked for over a second
  active.forget("b");
  assert.equal(active.current, null);
});
