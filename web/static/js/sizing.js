// Receiver-driven sizing and the uplink budget (issue 12, items 1-3).
//
// Each page measures the tile that shows each remote peer (CSS px × devicePixelRatio, and whether it can be
// seen at all) and tells that peer over the connection's own data channel ("noom-view", negotiated with id
// 0, see PeerLink). In a mesh every connection has exactly one receiver, so the sender can fit each
// connection's encoding to the one tile it feeds: scaleResolutionDownBy, maxFramerate, maxBitrate and
// active, through RTCRtpSender.setParameters (no renegotiation). The camera captures at the largest size any
// receiver needs. Every 2 s the senders' maxBitrates are fitted into the connections' outgoing estimates.
// A peer that never sends a view (a bot) gets full quality, as before.

const DEBOUNCE_MS = 300;
const BUDGET_MS = 2000;
const SMALL_TILE_H = 240; // device px: below this, 15 fps is plenty
const AUDIO_BPS = 40_000; // Opus with FEC, what we keep free for audio per connection
const MIN_VIDEO_BPS = 60_000;
// Capture steps (16:9) and the hysteresis for stepping down: only when the need is well under the lower step.
const CAPTURE_STEPS = [
  { width: 640, height: 360 },
  { width: 960, height: 540 },
  { width: 1280, height: 720 },
];
const STEP_DOWN_FRACTION = 0.9;
const FULL = { width: 1280, height: 720, visible: true };

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

/**
 * Sizing off for a page with ``?sizing=off`` or localStorage ``noom.sizing`` = "off" (a switch for the
 * benchmark's "before" figures, scripts/bench/bench_mesh.py): no views, no setParameters, capture stays 1280×720.
 */
export function sizingEnabled() {
  let stored = null;
  try {
    stored = localStorage.getItem("noom.sizing");
  } catch {
    // storage blocked: only the URL decides
  }
  return new URLSearchParams(location.search).get("sizing") !== "off" && stored !== "off";
}

export class Sizing {
  /**
   * @param {object} call the Call: ``peers`` (peerId -> {peer, tile, link}), ``camTrack``, ``screenTrack``
   */
  constructor(call) {
    this.call = call;
    this.enabled = sizingEnabled();
    this.sent = new Map(); // peerId -> the view we last sent that peer
    this.pending = new Map(); // peerId -> debounce timer
    this.intersecting = new Map(); // video element -> boolean
    this.byElement = new Map(); // video element -> peerId
    this.views = new Map(); // peerId -> the view that peer sent us (how it shows our video)
    this.caps = new Map(); // peerId -> budgeted maxBitrate
    this.applying = new Map(); // peerId -> promise chain of setParameters
    this.applied = new Map(); // peerId -> what we last set, for senderParams()
    this.capture = null; // the capture step we asked the camera for
    this.resize = new ResizeObserver((entries) => entries.forEach((e) => this.changed(this.byElement.get(e.target))));
    this.intersect = new IntersectionObserver((entries) => {
      for (const e of entries) {
        this.intersecting.set(e.target, e.isIntersecting);
        this.changed(this.byElement.get(e.target));
      }
    });
    this.onVisibility = () => {
      for (const peerId of this.byElement.values()) this.changed(peerId);
    };
    document.addEventListener("visibilitychange", this.onVisibility);
    this.timer = setInterval(() => this.budget(), BUDGET_MS);
  }

  // ---- receiving side: what we show of each peer ----------------------------------------------------

  /** Start measuring the tile that shows ``peerId`` (not for tiles we never show, such as recorders'). */
  watch(peerId, tile) {
    this.byElement.set(tile.video, peerId);
    this.intersecting.set(tile.video, true);
    this.resize.observe(tile.video);
    this.intersect.observe(tile.video);
    this.changed(peerId);
  }

  unwatch(peerId) {
    for (const [video, id] of this.byElement)
      if (id === peerId) {
        this.resize.unobserve(video);
        this.intersect.unobserve(video);
        this.byElement.delete(video);
        this.intersecting.delete(video);
      }
    clearTimeout(this.pending.get(peerId));
    for (const map of [this.pending, this.sent, this.views, this.caps, this.applying, this.applied]) map.delete(peerId);
  }

  measure(peerId) {
    const video = [...this.byElement].find(([, id]) => id === peerId)?.[0];
    if (!video) return null;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.round(video.clientWidth * dpr);
    const height = Math.round(video.clientHeight * dpr);
    const visible = width > 0 && height > 0 && video.isConnected && !document.hidden && this.intersecting.get(video) !== false;
    return visible ? { width, height, visible } : { width: 0, height: 0, visible: false };
  }

  changed(peerId) {
    if (!peerId || !this.enabled) return;
    clearTimeout(this.pending.get(peerId));
    this.pending.set(peerId, setTimeout(() => this.report(peerId), DEBOUNCE_MS));
  }

  /** Send our view of ``peerId`` if it changed (or, with ``force``, when its channel has just opened). */
  report(peerId, force = false) {
    this.pending.delete(peerId);
    const view = this.measure(peerId);
    const link = this.call.peers.get(peerId)?.link;
    if (!view || !link) return;
    const last = this.sent.get(peerId);
    if (!force && last && last.width === view.width && last.height === view.height && last.visible === view.visible) return;
    if (link.sendView(view)) this.sent.set(peerId, view);
  }

  /** The data channel to ``peerId`` opened: tell it what we show right away. */
  channelOpen(peerId) {
    if (this.enabled) this.report(peerId, true);
  }

  // ---- sending side: fit each connection to its receiver -------------------------------------------

  /** ``peerId`` told us how it shows our video. */
  received(peerId, view) {
    if (!this.enabled) return;
    const w = Number(view?.width) || 0;
    const h = Number(view?.height) || 0;
    this.views.set(peerId, { width: Math.max(0, w), height: Math.max(0, h), visible: !!view?.visible && w > 0 && h > 0 });
    this.update();
  }

  /** What each connection's receiver needs; a peer that never sent a view gets full quality. */
  need(peerId) {
    return this.views.get(peerId) || FULL;
  }

  /** Re-apply everything: a view changed, the camera or screen track changed, or the budget moved. */
  update() {
    if (!this.enabled) return;
    this.fitCapture().finally(() => {
      for (const peerId of this.call.peers.keys()) this.apply(peerId);
    });
  }

  /** Capture at the smallest step that covers the largest tile any receiver shows us in (hysteresis down). */
  async fitCapture() {
    const track = this.call.camTrack;
    if (!track || track.readyState !== "live" || this.call.screenTrack) return;
    let need = 0;
    for (const peerId of this.call.peers.keys()) {
      const view = this.need(peerId);
      if (view.visible) need = Math.max(need, view.height, (view.width * 9) / 16);
    }
    const current = this.captureTrack === track ? this.capture : null;
    // Up as soon as a tile is taller than what we capture; down only to a step the need is well inside.
    const largest = CAPTURE_STEPS[CAPTURE_STEPS.length - 1];
    const fits = CAPTURE_STEPS.find((s) => s.height >= need) || largest;
    const roomy = CAPTURE_STEPS.find((s) => need <= s.height * STEP_DOWN_FRACTION) || largest;
    let target = fits;
    if (current && need <= current.height) target = roomy.height < current.height ? roomy : current;
    if (current && current.height === target.height) return;
    try {
      await track.applyConstraints({ width: { ideal: target.width }, height: { ideal: target.height } });
      this.capture = target;
      this.captureTrack = track;
    } catch (error) {
      console.warn("noom: could not change the capture size", error);
    }
  }

  /** The encoding parameters for one connection's video sender, from its receiver's view and the budget. */
  plan(peerId, sender) {
    const view = this.need(peerId);
    const track = sender.track;
    const screen = !!this.call.screenTrack && track === this.call.screenTrack;
    if (!view.visible) return { active: false, screen };
    const settings = track?.getSettings() || {};
    const srcW = settings.width || 1280;
    const srcH = settings.height || 720;
    // object-fit: cover fills the tile, so both sides must reach it: scale by the smaller ratio, never up.
    const scale = Math.max(1, Math.min(srcW / view.width, srcH / view.height));
    const encodedPixels = (srcW / scale) * (srcH / scale);
    const wanted = bitrateFor(encodedPixels, screen);
    const cap = this.caps.get(peerId);
    return {
      active: true,
      screen,
      scaleResolutionDownBy: Math.round(scale * 100) / 100,
      maxFramerate: view.height < SMALL_TILE_H ? 15 : 30,
      maxBitrate: Math.round(Math.max(MIN_VIDEO_BPS, cap ? Math.min(cap, wanted) : wanted)),
    };
  }

  apply(peerId) {
    const link = this.call.peers.get(peerId)?.link;
    if (!link || link.closed) return;
    const chain = (this.applying.get(peerId) || Promise.resolve()).then(() => this.applyNow(peerId, link)).catch((error) => {
      if (!link.closed) console.warn(`noom: setParameters toward ${peerId} failed`, error);
    });
    this.applying.set(peerId, chain);
  }

  async applyNow(peerId, link) {
    if (link.closed) return;
    const audio = link.senders.audio;
    if (audio) {
      const params = audio.getParameters();
      if (params.encodings?.length && params.encodings[0].priority !== "high") {
        for (const e of params.encodings) Object.assign(e, { priority: "high", networkPriority: "high" });
        await audio.setParameters(params);
      }
    }
    const video = link.senders.video;
    if (!video) return;
    const params = video.getParameters();
    if (!params.encodings?.length) return; // not negotiated yet; applied again when a view or budget comes
    const plan = this.plan(peerId, video);
    const encoding = params.encodings[0];
    encoding.active = plan.active;
    if (plan.active) {
      encoding.scaleResolutionDownBy = plan.scaleResolutionDownBy;
      encoding.maxFramerate = plan.maxFramerate;
      encoding.maxBitrate = plan.maxBitrate;
    }
    if (plan.screen) params.degradationPreference = "maintain-resolution";
    else delete params.degradationPreference;
    await video.setParameters(params);
    this.applied.set(peerId, plan);
  }

  // ---- uplink budget ---------------------------------------------------------------------------------

  /** Fit the video maxBitrates into the outgoing estimate minus audio, in proportion to the tile areas. */
  async budget() {
    if (!this.enabled) return;
    const rows = [];
    for (const [peerId, { link }] of this.call.peers) {
      if (!link || link.closed || !link.senders.video?.track) continue;
      const estimate = await outgoingEstimate(link.pc).catch(() => null);
      const view = this.need(peerId);
      if (!view.visible) continue;
      const screen = link.senders.video.track === this.call.screenTrack;
      rows.push({ peerId, estimate, area: view.width * view.height, screen });
    }
    const known = rows.filter((r) => r.estimate);
    const total = known.reduce((sum, r) => sum + Math.max(0, r.estimate - AUDIO_BPS), 0);
    const next = new Map();
    if (known.length) {
      // The screen's share comes first (it stands in for the camera on every connection while sharing).
      const weight = (r) => r.area * (r.screen ? 4 : 1);
      const weights = known.reduce((sum, r) => sum + weight(r), 0) || 1;
      for (const r of known) {
        const share = (total * weight(r)) / weights;
        next.set(r.peerId, Math.max(MIN_VIDEO_BPS, Math.min(share, r.estimate - AUDIO_BPS)));
      }
    }
    let moved = false;
    for (const r of rows) {
      const before = this.caps.get(r.peerId);
      const after = next.get(r.peerId);
      if (!after) {
        if (before !== undefined) moved = true;
        this.caps.delete(r.peerId);
      } else if (!before || Math.abs(after - before) / before > 0.1) {
        this.caps.set(r.peerId, after);
        moved = true;
      }
    }
    if (moved) for (const r of rows) this.apply(r.peerId);
  }

  // ---- views for tests --------------------------------------------------------------------------------

  /** Read-only: what we set on our senders toward ``peerId``, what it asked for and what we told it. */
  senderParams(peerId) {
    const link = this.call.peers.get(peerId)?.link;
    if (!link) return null;
    const params = link.senders.video?.getParameters();
    const audio = link.senders.audio?.getParameters();
    return {
      enabled: this.enabled,
      encodings: (params?.encodings || []).map((e) => ({ ...e })),
      degradationPreference: params?.degradationPreference ?? null,
      audioEncodings: (audio?.encodings || []).map((e) => ({ ...e })),
      view: this.views.get(peerId) || null,
      viewSent: this.sent.get(peerId) || null,
      budget: this.caps.get(peerId) ?? null,
      // The Opus fmtp our encoder follows (the remote description's, with our FEC and DTX).
      opusFmtp: opusFmtp(link.pc.currentRemoteDescription?.sdp || ""),
      capture: this.call.camTrack ? { width: this.call.camTrack.getSettings().width, height: this.call.camTrack.getSettings().height } : null,
    };
  }

  stop() {
    clearInterval(this.timer);
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.resize.disconnect();
    this.intersect.disconnect();
    document.removeEventListener("visibilitychange", this.onVisibility);
  }
}

function opusFmtp(sdp) {
  const pt = /^a=rtpmap:(\d+) opus\/48000/im.exec(sdp)?.[1];
  return pt ? new RegExp(`^a=fmtp:${pt} (.*)$`, "m").exec(sdp)?.[1]?.trim() || "" : null;
}

/** The selected candidate pair's availableOutgoingBitrate (bit/s), or null before there is one. */
export async function outgoingEstimate(pc) {
  const report = await pc.getStats();
  let pairId = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  let estimate = null;
  report.forEach((s) => {
    if (s.type === "candidate-pair" && (s.id === pairId || (!pairId && s.nominated && s.state === "succeeded")) && s.availableOutgoingBitrate)
      estimate = s.availableOutgoingBitrate;
  });
  return estimate;
}

/** Our outgoing video toward one peer as getStats has it (for tests and the benchmark). */
export async function outboundVideo(pc) {
  const report = await pc.getStats();
  const out = { frameWidth: 0, frameHeight: 0, framesEncoded: 0, framesSent: 0, totalEncodeTime: 0, bytesSent: 0, active: null, qualityLimitationReason: null };
  report.forEach((s) => {
    if (s.type !== "outbound-rtp" || s.kind !== "video") return;
    out.frameWidth = s.frameWidth || 0;
    out.frameHeight = s.frameHeight || 0;
    out.framesEncoded += s.framesEncoded || 0;
    out.framesSent += s.framesSent || 0;
    out.totalEncodeTime += s.totalEncodeTime || 0;
    out.bytesSent += s.bytesSent || 0;
    out.active = s.active ?? null;
    out.qualityLimitationReason = s.qualityLimitationReason || null;
  });
  return out;
}
