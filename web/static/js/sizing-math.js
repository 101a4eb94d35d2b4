// Receiver-driven sizing's maths (DOM-free, tested with Node): bit rates for a frame size, the capture step,
// one connection's encoding plan from its receiver's view, the uplink budget's shares, and the Opus fmtp munging.
// sizing.js measures, sends and applies; everything it decides with numbers is here.

const SMALL_TILE_H = 240; // device px: below this, 15 fps is plenty
export const AUDIO_BPS = 40_000; // Opus with FEC, what we keep free for audio per connection
export const MIN_VIDEO_BPS = 60_000;
// Capture steps (16:9) and the hysteresis for stepping down: only when the need is well under the lower step.
export const CAPTURE_STEPS = [
  { width: 640, height: 360 },
  { width: 960, height: 540 },
  { width: 1280, height: 720 },
];
const STEP_DOWN_FRACTION = 0.9;
/** What a receiver that never sent a view (a bot) gets: full quality. */
export const FULL = { width: 1280, height: 720, visible: true };

/** The bit rate a camera stream needs for a frame of ``pixels`` at full frame rate (a simple table). */
export function bitrateFor(pixels, screen = false) {
  const table = [
    [320 * 180, 150_000],
    [480 * 270, 300_000],
    [640 * 360, 500_000],
    [960 * 540, 900_000],
    [1280 * 720, 1_500_000],
  ];
  let bps = 2_500_000;
  for (const [limit, rate] of table)
    if (pixels <= limit) {
      bps = rate;
      break;
    }
  return screen ? Math.max(bps * 2, 1_000_000) : bps; // text needs more bits than faces
}

/** Add in-band FEC and DTX to every Opus fmtp line of an SDP (the SDP's fmtp is what its author wants sent to it). */
export function withOpusFecDtx(sdp) {
  const opus = [...sdp.matchAll(/^a=rtpmap:(\d+) opus\/48000/gim)].map((m) => m[1]);
  let out = sdp;
  for (const pt of opus) {
    const line = new RegExp(`^(a=fmtp:${pt} )(.*)$`, "m");
    if (line.test(out)) {
      out = out.replace(line, (_all, head, params) => {
        const kept = params.split(";").filter((p) => p && !/^(useinbandfec|usedtx)=/.test(p.trim()));
        return head + [...kept, "useinbandfec=1", "usedtx=1"].join(";");
      });
    } else {
      out = out.replace(new RegExp(`^(a=rtpmap:${pt} opus/48000.*)$`, "m"), `$1\r\na=fmtp:${pt} useinbandfec=1;usedtx=1`);
    }
  }
  return out;
}

/** The capture height the receivers need: the tallest visible view, a wide one counted by its 16:9 height. */
export function captureNeed(views) {
  let need = 0;
  for (const view of views) if (view.visible) need = Math.max(need, view.height, (view.width * 9) / 16);
  return need;
}

/**
 * The capture step for ``need`` when capturing at ``current`` (a step, or null when unknown): up as soon as
 * a tile is taller than what we capture, down only to a step the need is well inside. Null: keep ``current``.
 */
export function captureStep(need, current) {
  const largest = CAPTURE_STEPS[CAPTURE_STEPS.length - 1];
  const fits = CAPTURE_STEPS.find((s) => s.height >= need) || largest;
  const roomy = CAPTURE_STEPS.find((s) => need <= s.height * STEP_DOWN_FRACTION) || largest;
  let target = fits;
  if (current && need <= current.height) target = roomy.height < current.height ? roomy : current;
  return current && current.height === target.height ? null : target;
}

/**
 * The encoding for one connection's video sender: ``view`` is how its receiver shows our video, ``source``
 * the track's {width, height}, ``cap`` the budget's maxBitrate for it (or undefined).
 */
export function encodingPlan(view, source, screen, cap) {
  if (!view.visible) return { active: false, screen };
  const srcW = source.width || 1280;
  const srcH = source.height || 720;
  // object-fit: cover fills the tile, so both sides must reach it: scale by the smaller ratio, never up.
  const scale = Math.max(1, Math.min(srcW / view.width, srcH / view.height));
  const encodedPixels = (srcW / scale) * (srcH / scale);
  const wanted = bitrateFor(encodedPixels, screen);
  return {
    active: true,
    screen,
    scaleResolutionDownBy: Math.round(scale * 100) / 100,
    maxFramerate: view.height < SMALL_TILE_H ? 15 : 30,
    maxBitrate: Math.round(Math.max(MIN_VIDEO_BPS, cap ? Math.min(cap, wanted) : wanted)),
  };
}

/**
 * Share the connections' outgoing estimates (less audio) among their video senders in proportion to the
 * tile areas their receivers show, a screen weighing 4× (it stands in for the camera on every connection
 * while sharing); no connection gets more than its own estimate. ``rows``: [{peerId, estimate (bit/s or
 * null), area, screen}]. Returns peerId -> maxBitrate for the rows with an estimate.
 */
export function budgetShares(rows) {
  const known = rows.filter((r) => r.estimate);
  const total = known.reduce((sum, r) => sum + Math.max(0, r.estimate - AUDIO_BPS), 0);
  const shares = new Map();
  if (!known.length) return shares;
  const weight = (r) => r.area * (r.screen ? 4 : 1);
  const weights = known.reduce((sum, r) => sum + weight(r), 0) || 1;
  for (const r of known) {
    const share = (total * weight(r)) / weights;
    shares.set(r.peerId, Math.max(MIN_VIDEO_BPS, Math.min(share, r.estimate - AUDIO_BPS)));
  }
  return shares;
}

/** The Opus fmtp parameters of an SDP ("" when Opus has none, null without Opus). */
export function opusFmtp(sdp) {
  const pt = /^a=rtpmap:(\d+) opus\/48000/im.exec(sdp)?.[1];
  return pt ? new RegExp(`^a=fmtp:${pt} (.*)$`, "m").exec(sdp)?.[1]?.trim() || "" : null;
}

