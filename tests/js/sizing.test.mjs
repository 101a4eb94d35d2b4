import assert from "node:assert/strict";
import { test } from "node:test";

import {
  AUDIO_BPS,
  bitrateFor,
  budgetShares,
  CAPTURE_STEPS,
  captureNeed,
  captureStep,
  encodingPlan,
  FULL,
  MIN_VIDEO_BPS,
  opusFmtp,
  withOpusFecDtx,
} from "../../web/static/js/sizing-math.js";

const [S360, S540, S720] = CAPTURE_STEPS;

test("bitrateFor: the table by frame size; a screen gets twice, at least 1 Mbit/s", () => {
  assert.equal(bitrateFor(320 * 180), 150_000);
  assert.equal(bitrateFor(640 * 360), 500_000);
  assert.equal(bitrateFor(640 * 360 + 1), 900_000);
  assert.equal(bitrateFor(1280 * 720), 1_500_000);
  assert.equal(bitrateFor(1920 * 1080), 2_500_000);
  assert.equal(bitrateFor(320 * 180, true), 1_000_000);
  assert.equal(bitrateFor(1280 * 720, true), 3_000_000);
});

test("captureNeed: the tallest visible view, a wide one by its 16:9 height", () => {
  assert.equal(captureNeed([]), 0);
  assert.equal(captureNeed([{ width: 640, height: 360, visible: true }, { width: 2000, height: 100, visible: true }]), 1125);
  assert.equal(captureNeed([{ width: 1920, height: 1080, visible: false }, { width: 320, height: 180, visible: true }]), 180);
  assert.equal(captureNeed([FULL]), 720);
});

test("captureStep: up at once, down only well inside the lower step, null when nothing changes", () => {
  assert.equal(captureStep(300, null), S360);
  assert.equal(captureStep(500, null), S540);
  assert.equal(captureStep(2000, null), S720);
  assert.equal(captureStep(600, S540), S720); // a taller tile: up now
  assert.equal(captureStep(500, S540), null); // covered: stay
  assert.equal(captureStep(340, S540), null); // 340 > 0.9 × 360: not roomy enough to step down
  assert.equal(captureStep(320, S540), S360); // well inside 360: down
  assert.equal(captureStep(100, S720), S360);
  assert.equal(captureStep(720, S720), null);
});

test("encodingPlan: scale to the tile (cover, never up), frame rate by tile height, bit rate by pixels and cap", () => {
  const source = { width: 1280, height: 720 };
  assert.deepEqual(encodingPlan({ width: 0, height: 0, visible: false }, source, false, undefined), { active: false, screen: false });
  const half = encodingPlan({ width: 640, height: 360, visible: true }, source, false, undefined);
  assert.deepEqual(half, { active: true, screen: false, scaleResolutionDownBy: 2, maxFramerate: 30, maxBitrate: 500_000 });
  // A tall narrow tile: cover means the height decides (the smaller ratio).
  assert.equal(encodingPlan({ width: 200, height: 360, visible: true }, source, false).scaleResolutionDownBy, 2);
  // Never scaled up, and small tiles get 15 fps.
  const small = encodingPlan({ width: 320, height: 180, visible: true }, { width: 320, height: 180 }, false);
  assert.equal(small.scaleResolutionDownBy, 1);
  assert.equal(small.maxFramerate, 15);
  // The budget caps, but never below the floor; an unknown source counts as 1280×720.
  assert.equal(encodingPlan(FULL, source, false, 700_000).maxBitrate, 700_000);
  assert.equal(encodingPlan(FULL, source, false, 10_000).maxBitrate, MIN_VIDEO_BPS);
  assert.deepEqual(encodingPlan(FULL, {}, true, undefined), { active: true, screen: true, scaleResolutionDownBy: 1, maxFramerate: 30, maxBitrate: 3_000_000 });
});

test("budgetShares: the estimates less audio, shared by tile area, a screen weighs 4×, capped by each estimate", () => {
  assert.equal(budgetShares([]).size, 0);
  assert.equal(budgetShares([{ peerId: "a", estimate: null, area: 100, screen: false }]).size, 0);
  const even = budgetShares([
    { peerId: "a", estimate: 1_040_000, area: 100, screen: false },
    { peerId: "b", estimate: 1_040_000, area: 300, screen: false },
    { peerId: "c", estimate: null, area: 300, screen: false },
  ]);
  assert.deepEqual([...even.keys()], ["a", "b"]);
  assert.equal(even.get("a"), 500_000); // a quarter of 2 Mbit/s
  assert.equal(even.get("b"), 1_000_000); // three quarters (1.5 Mbit/s), capped by its own 1 Mbit/s
  const screen = budgetShares([
    { peerId: "a", estimate: 5_000_000 + AUDIO_BPS, area: 100, screen: true },
    { peerId: "b", estimate: 5_000_000 + AUDIO_BPS, area: 100, screen: false },
  ]);
  assert.equal(screen.get("a"), 5_000_000); // 8 of 10 Mbit/s, capped at its own 5
  assert.equal(screen.get("b"), 2_000_000);
  const starved = budgetShares([{ peerId: "a", estimate: 50_000, area: 100, screen: false }]);
  assert.equal(starved.get("a"), MIN_VIDEO_BPS);
});

const SDP = ["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111 63", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=0", "a=rtpmap:63 red/48000/2", "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000", ""].join("\r\n");

test("withOpusFecDtx: FEC and DTX on every Opus fmtp, replacing what was there; other codecs untouched", () => {
  const out = withOpusFecDtx(SDP);
  assert.equal(opusFmtp(out), "minptime=10;useinbandfec=1;usedtx=1");
  assert.equal(out.split("\r\n").length, SDP.split("\r\n").length);
  assert.ok(out.includes("a=rtpmap:96 VP8/90000"));
  assert.equal(withOpusFecDtx(out), out); // applying twice changes nothing
});

test("withOpusFecDtx adds an fmtp line when Opus has none; opusFmtp is null without Opus", () => {
  const bare = ["m=audio 9 UDP/TLS/RTP/SAVPF 109", "a=rtpmap:109 opus/48000/2", ""].join("\r\n");
  assert.equal(opusFmtp(bare), "");
  assert.equal(opusFmtp(withOpusFecDtx(bare)), "useinbandfec=1;usedtx=1");
  assert.equal(opusFmtp("m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"), null);
  assert.equal(withOpusFecDtx("m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"), "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n");
});
