// Connection quality and speaking, as pure functions of the numbers the browser gives us (DOM-free, tested
// with Node): the per-tile quality grade and its words, the active-speaker ring with its hold, the
// "you are muted" hint, and the echo page's round-trip figures from a getStats report.
import { lang, t } from "./i18n.js";

/** Grade a connection from its stats (PeerLink.stats()) for the per-tile indicator. */
export function grade({ rtt, loss, fps, state }, expectVideo) {
  if (state && state !== "connected") return "poor";
  if ((rtt !== null && rtt > 400) || loss > 0.08 || (expectVideo && fps > 0 && fps < 8)) return "poor";
  if ((rtt !== null && rtt > 150) || loss > 0.02 || (expectVideo && fps > 0 && fps < 18)) return "fair";
  return "good";
}

const WORDS = { good: "quality.good", fair: "quality.fair", poor: "quality.poor" };

/** The tile's quality indicator: its grade and the sentence its label and tooltip say. */
export function quality(stats, expectVideo) {
  const level = grade(stats, expectVideo);
  const rtt = stats.rtt === null ? "–" : `${Math.round(stats.rtt)} ms`;
  return { level, detail: t("quality.detail", { grade: t(WORDS[level]), rtt, loss: (stats.loss * 100).toFixed(1), fps: Math.round(stats.fps) }) };
}

export const SPEAKING_LEVEL_REMOTE = 0.04; // RTP audio level (0..1, linear)
export const SPEAKING_LEVEL_SELF = 0.12; // our LevelMeter scale
export const SPEAKING_HOLD_MS = 700;
const MUTED_HINT_LEVEL = SPEAKING_LEVEL_SELF * 1.5;
const MUTED_HINT_MS = 3000;

/**
 * The active speaker for the speaker view, from who is speaking now (``speaking``: a Set of peer ids, each poll).
 * Someone takes over after talking for ``holdMs`` (pauses shorter than ``gapMs`` do not break a run, as between
 * words), so a cough or a "mm-hm" does not move the stage; whoever has it keeps it while they talk, and through
 * silence, until someone else has talked long enough.
 */
export class ActiveSpeaker {
  constructor(holdMs = 1500, gapMs = 1200) {
    this.holdMs = holdMs;
    this.gapMs = gapMs;
    this.current = null;
    this.runs = new Map(); // peer id -> {since, heard}: the current run of speech
  }

  update(speaking, now) {
    for (const id of speaking) {
      const run = this.runs.get(id);
      if (run && now - run.heard <= this.gapMs) run.heard = now;
      else this.runs.set(id, { since: now, heard: now });
    }
    for (const [id, run] of this.runs) if (now - run.heard > this.gapMs) this.runs.delete(id);
    if (this.current !== null && this.runs.has(this.current)) return this.current; // still talking: keeps it
    let next = null;
    let since = Infinity;
    for (const [id, run] of this.runs) if (run.heard - run.since >= this.holdMs && run.since < since) [next, since] = [id, run.since];
    if (next !== null) this.current = next;
    return this.current;
  }

  /** A peer left: it no longer holds the stage. */
  forget(id) {
    this.runs.delete(id);
    if (this.current === id) this.current = null;
  }
}

/** Who is speaking (a level above the threshold within the last 700 ms), and whether we talk while muted. */
export class Speaking {
  constructor() {
    this.lastLoud = new Map(); // key -> time of the last loud sample
    this.mutedHintUntil = 0;
  }

  mark(key, loud, now) {
    if (loud) this.lastLoud.set(key, now);
    return now - (this.lastLoud.get(key) ?? -1e9) < SPEAKING_HOLD_MS;
  }

  /** Our own level (LevelMeter); returns {speaking, mutedHint}. */
  self(level, audioOn, metered, now) {
    const speaking = this.mark("self", audioOn && level > SPEAKING_LEVEL_SELF, now);
    if (!audioOn && metered && level > MUTED_HINT_LEVEL) this.mutedHintUntil = now + MUTED_HINT_MS;
    return { speaking, mutedHint: now < this.mutedHintUntil && !audioOn };
  }

  /** A remote peer's level (its receiver's audio level, 0..1) while its mic is on; returns whether it speaks. */
  remote(peerId, level, audioOn, now) {
    return this.mark(peerId, audioOn && level > SPEAKING_LEVEL_REMOTE, now);
  }
}

// The echo bot's problems by name (EchoReport.problem_codes, docs/media.md): the page's words, the report's figures.
const ECHO_PROBLEMS = {
  "no-video": () => t("echo.problem_no_video"),
  "low-fps": ({ video }) => t("echo.problem_low_fps", { fps: video.fps.toFixed(0) }),
  "low-resolution": ({ video }) => t("echo.problem_low_resolution", { width: video.width, height: video.height }),
  "no-audio": () => t("echo.problem_no_audio"),
  silent: () => t("echo.problem_silent"),
  "high-loss": ({ loss }) => t("echo.problem_high_loss", { loss: loss.toFixed(0) }),
};

/**
 * The echo report's problems in words: the server's own sentences in English (as i18n.js's serverText), else
 * the page's words for each problem's name; the server's sentences too for a name the page does not know.
 */
export function echoProblems(report) {
  const codes = report.problem_codes;
  if (lang() === "en" || !Array.isArray(codes) || !codes.every((code) => Object.hasOwn(ECHO_PROBLEMS, code))) return report.problems;
  const loss = Math.max(...[report.video_loss_pct, report.audio_loss_pct].filter((v) => v !== null && v !== undefined));
  return codes.map((code) => ECHO_PROBLEMS[code]({ video: report.video, loss }));
}

/**
 * The echo page's round trip from one getStats report (its values) and the previous sample's byte counts:
 * {sample (for next time), rtt ms or null, upKbps, downKbps, lossPct or null, video (the echoed
 * inbound-rtp video entry or null)}. ``now`` is a millisecond clock.
 */
export function roundTrip(stats, previous, now) {
  const sample = { time: now, up: 0, down: 0 };
  let rtt = null;
  let video = null;
  let lost = 0;
  let received = 0;
  for (const s of stats) {
    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && s.currentRoundTripTime !== undefined) {
      rtt = s.currentRoundTripTime * 1000;
    } else if (s.type === "outbound-rtp") {
      sample.up += s.bytesSent || 0;
    } else if (s.type === "inbound-rtp") {
      sample.down += s.bytesReceived || 0;
      lost += Math.max(0, s.packetsLost || 0);
      received += s.packetsReceived || 0;
      if (s.kind === "video") video = s;
    }
  }
  const kbps = (key) => (previous ? ((sample[key] - previous[key]) * 8) / (sample.time - previous.time) : 0);
  return {
    sample,
    rtt,
    upKbps: kbps("up"),
    downKbps: kbps("down"),
    lossPct: received + lost ? (100 * lost) / (received + lost) : null,
    video,
  };
}
