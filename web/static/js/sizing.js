// Receiver-driven sizing and the uplink budget (issue 12, items 1-3).
//
// Each page measures the tile that shows each remote peer (CSS px × devicePixelRatio, and whether it can be
// seen at all) and tells that peer over the connection's own data channel ("noom-view", negotiated with id
// 0, see PeerLink). In a mesh every connection has exactly one receiver, so the sender can fit each
// connection's encoding to the one tile it feeds: scaleResolutionDownBy, maxFramerate, maxBitrate and
// active, through RTCRtpSender.setParameters (no renegotiation). The camera captures at the largest size any
// receiver needs. Every 2 s the senders' maxBitrates are fitted into the connections' outgoing estimates.
// A peer that never sends a view (a bot) gets full quality, as before.

import { budgetShares, captureNeed, captureStep, encodingPlan, FULL, opusFmtp } from "./sizing-math.js";

const DEBOUNCE_MS = 300;
const BUDGET_MS = 2000;

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
   * @param {object} call the Call: ``peers`` (peerId -> {peer, tile, link}), ``local`` (its ``camTrack``, ``screenTrack``)
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
    const track = this.call.local.camTrack;
    if (!track || track.readyState !== "live" || this.call.local.screenTrack) return;
    const need = captureNeed([...this.call.peers.keys()].map((peerId) => this.need(peerId)));
    const target = captureStep(need, this.captureTrack === track ? this.capture : null);
    if (!target) return;
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
    const screen = !!this.call.local.screenTrack && track === this.call.local.screenTrack;
    return encodingPlan(view, track?.getSettings() || {}, screen, this.caps.get(peerId));
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
      const screen = link.senders.video.track === this.call.local.screenTrack;
      rows.push({ peerId, estimate, area: view.width * view.height, screen });
    }
    const next = budgetShares(rows);
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
      capture: this.call.local.camTrack ? { width: this.call.local.camTrack.getSettings().width, height: this.call.local.camTrack.getSettings().height } : null,
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
