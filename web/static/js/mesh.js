import { withOpusFecDtx } from "./sizing-math.js";

// One RTCPeerConnection per remote peer, negotiated with the perfect negotiation pattern.
//
// Roles per pair (docs/protocol.md): toward a bot the browser is always polite (aiortc cannot roll back);
// between two humans the peer whose peerId sorts lower is polite. The newcomer creates its transceivers
// and offers; the other side binds its local tracks to the transceivers the offer created, so one offer
// and one answer set up the call. Camera, microphone and screen changes later use replaceTrack only.

const DISCONNECTED_GRACE_MS = 4000; // how long "disconnected" may last before we restart ICE
// A restart made while the path is still down fails quietly (Chrome stops checking pairs whose sends
// failed) and the state may not change again, so we try again at this pace until connected: the call
// comes back within a few seconds of the network.
const RESTART_RETRY_MS = 3000;
const MAX_ICE_RESTARTS = 20; // per outage (about a minute); reset once connected again
// Receiver-driven sizing (sizing.js) talks over this channel: negotiated with a fixed id on both sides, so
// it needs no DCEP handshake, no extra signaling and no renegotiation. Not toward bots (they never size).
const VIEW_CHANNEL = { label: "noom-view", id: 0 };

export class PeerLink {
  /**
   * @param {object} options
   * @param {{peerId: string, kind: string}} options.peer the remote peer
   * @param {string} options.selfId our peerId
   * @param {RTCIceServer[]} options.iceServers from the join ack, and nothing else
   * @param {(event: string, payload: object) => void} options.send emit a signaling message
   * @param {() => {audio: MediaStreamTrack|null, video: MediaStreamTrack|null, stream: MediaStream}} options.local
   * @param {boolean} options.initiator true when we are the newcomer and offer first
   * @param {(link: PeerLink) => void} options.onTrack called when remote media arrives
   * @param {(view: object) => void} [options.onView] the remote peer says how it shows our video
   * @param {() => void} [options.onViewOpen] the view channel opened
   * @param {(state: RTCPeerConnectionState) => void} [options.onState] the connection state changed
   */
  constructor({ peer, selfId, iceServers, send, local, initiator, onTrack, onView = () => {}, onViewOpen = () => {}, onState = () => {} }) {
    this.peerId = peer.peerId;
    this.human = peer.kind !== "bot";
    // Who tells us how it shows our video: people, and the recorder (its grid cell).
    this.wantsView = this.human || peer.role === "recorder";
    this.onView = onView;
    this.onViewOpen = onViewOpen;
    this.onState = onState;
    this.channel = null;
    this.polite = peer.kind === "bot" || selfId < peer.peerId;
    this.send = send;
    this.local = local;
    this.onTrack = onTrack;
    this.stream = new MediaStream();
    this.senders = { audio: null, video: null };
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.queue = Promise.resolve();
    this.restarts = 0;
    this.totalRestarts = 0;
    this.graceTimer = null;
    this.closed = false;
    this.lastStats = null;

    this.pc = new RTCPeerConnection({ iceServers });
    this.pc.onicecandidate = ({ candidate }) => {
      // Trickle every candidate, then null when gathering is complete.
      this.send("ice", { to: this.peerId, candidate: candidate ? candidate.toJSON() : null });
    };
    this.pc.ontrack = ({ track }) => {
      for (const old of this.stream.getTracks()) if (old.kind === track.kind && old !== track) this.stream.removeTrack(old);
      if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
      this.onTrack(this);
    };
    this.pc.onnegotiationneeded = () => this.negotiate();
    this.pc.onconnectionstatechange = () => this.watchConnection();

    if (initiator) {
      const { audio, video, stream } = this.local();
      this.senders.audio = this.pc.addTransceiver(audio || "audio", { direction: "sendrecv", streams: [stream] }).sender;
      this.senders.video = this.pc.addTransceiver(video || "video", { direction: "sendrecv", streams: [stream] }).sender;
      if (this.wantsView) this.openChannel();
    }
  }

  /** The view channel: the initiator opens it before its first offer (so the offer carries the SCTP
   * m-line), the answerer once that offer is in (a channel made earlier would fire negotiationneeded). */
  openChannel() {
    if (this.channel || this.closed) return;
    const channel = this.pc.createDataChannel(VIEW_CHANNEL.label, { negotiated: true, id: VIEW_CHANNEL.id });
    channel.onopen = () => this.onViewOpen(this);
    channel.onmessage = ({ data }) => {
      try {
        const message = JSON.parse(data);
        if (message?.type === "view") this.onView(message);
      } catch {
        /* not ours */
      }
    };
    this.channel = channel;
  }

  /** Tell the remote peer how we show its video; false when the channel is not open (yet). */
  sendView({ width, height, visible }) {
    if (this.channel?.readyState !== "open") return false;
    this.channel.send(JSON.stringify({ type: "view", width, height, visible }));
    return true;
  }

  async negotiate() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.send("offer", { to: this.peerId, sdp: this.pc.localDescription.sdp });
    } catch (error) {
      console.warn("noom: making an offer failed", error);
    } finally {
      this.makingOffer = false;
    }
  }

  /** Handle offer/answer/ice from the remote peer, one at a time so ICE never overtakes its description. */
  receive(event, payload) {
    this.queue = this.queue
      .then(() => (event === "ice" ? this.addCandidate(payload.candidate) : this.describe(event, payload.sdp)))
      .catch((error) => console.warn(`noom: handling ${event} from ${this.peerId} failed`, error));
    return this.queue;
  }

  async describe(type, sdp) {
    if (this.closed) return;
    const offerCollision = type === "offer" && (this.makingOffer || this.pc.signalingState !== "stable");
    this.ignoreOffer = !this.polite && offerCollision;
    if (this.ignoreOffer) return;
    // The remote SDP's Opus fmtp configures our encoder: in-band FEC and DTX toward other browsers (bots get
    // what they asked for; the recorder wants an even audio clock).
    if (this.human) sdp = withOpusFecDtx(sdp);
    await this.pc.setRemoteDescription({ type, sdp }); // rolls back our own offer when polite
    if (type === "offer") {
      if (/^m=application /m.test(sdp)) this.openChannel(); // the peer opened one: it tells us its view
      this.bindTransceivers();
      await this.pc.setLocalDescription();
      this.send("answer", { to: this.peerId, sdp: this.pc.localDescription.sdp });
    }
  }

  /** On the answering side: send our tracks on the first audio and video transceivers the offer made. */
  bindTransceivers() {
    const { audio, video, stream } = this.local();
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      if (this.senders[kind] || transceiver.stopped) continue;
      this.senders[kind] = transceiver.sender;
      transceiver.direction = "sendrecv";
      transceiver.sender.setStreams?.(stream);
      transceiver.sender.replaceTrack(kind === "audio" ? audio : video).catch(() => {});
    }
  }

  async addCandidate(candidate) {
    if (this.closed) return;
    try {
      if (candidate) await this.pc.addIceCandidate(candidate);
      else await this.pc.addIceCandidate(); // end of candidates
    } catch (error) {
      if (!this.ignoreOffer) console.warn("noom: bad ICE candidate", error);
    }
  }

  /** Swap what we send (camera, other camera, screen, nothing) without renegotiating. */
  async replace(kind, track) {
    const sender = this.senders[kind];
    if (sender && !this.closed) await sender.replaceTrack(track);
  }

  watchConnection() {
    const state = this.pc.connectionState;
    this.onState(state);
    if (state === "connected") {
      clearTimeout(this.graceTimer);
      this.restarts = 0;
    } else if (state === "failed") this.restartIce();
    else if (state === "disconnected" && !this.restarts) this.retryIce(DISCONNECTED_GRACE_MS);
  }

  retryIce(delay) {
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => {
      if (["disconnected", "failed", "connecting"].includes(this.pc.connectionState)) this.restartIce();
    }, delay);
  }

  restartIce() {
    if (this.closed || this.restarts >= MAX_ICE_RESTARTS) return;
    this.restarts += 1;
    this.totalRestarts += 1;
    console.info(`noom: restarting ICE toward ${this.peerId} (attempt ${this.restarts})`);
    this.pc.restartIce(); // fires negotiationneeded; perfect negotiation handles a simultaneous restart
    this.retryIce(RESTART_RETRY_MS); // until connected again
  }

  /** Use new ICE servers (fresh TURN credentials) from now on: for later gathering and ICE restarts. */
  setIceServers(iceServers) {
    if (this.closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (error) {
      console.warn(`noom: could not update the ICE servers toward ${this.peerId}`, error);
    }
  }

  /** Current audio level of the remote peer (0..1), cheap enough to poll several times a second. */
  audioLevel() {
    for (const receiver of this.pc.getReceivers()) {
      if (receiver.track.kind !== "audio") continue;
      const sources = receiver.getSynchronizationSources?.() || [];
      if (sources.length) return sources[0].audioLevel || 0;
    }
    return 0;
  }

  /** RTT, loss and frame rate since the previous call, plus raw counters the tests read. */
  async stats() {
    const report = await this.pc.getStats();
    const out = { rtt: null, iceUfrag: null, fps: 0, framesDecoded: 0, videoWidth: 0, videoHeight: 0, audioPackets: 0, videoPackets: 0, lost: 0 };
    // Audio concealment counters (cumulative): the impaired-network tests compare them over a window.
    Object.assign(out, { concealedSamples: 0, silentConcealedSamples: 0, totalSamplesReceived: 0 });
    let pairId = null;
    report.forEach((s) => {
      if (s.type !== "transport") return;
      if (s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      out.iceUfrag = s.iceLocalUsernameFragment || null; // changes with every ICE restart
    });
    report.forEach((s) => {
      if (s.type === "candidate-pair" && (s.id === pairId || (!pairId && s.nominated && s.state === "succeeded"))) {
        if (typeof s.currentRoundTripTime === "number") out.rtt = s.currentRoundTripTime * 1000;
      }
      if (s.type === "inbound-rtp" && s.kind === "video") {
        out.framesDecoded += s.framesDecoded || 0;
        out.fps = Math.max(out.fps, s.framesPerSecond || 0);
        out.videoWidth = Math.max(out.videoWidth, s.frameWidth || 0);
        out.videoHeight = Math.max(out.videoHeight, s.frameHeight || 0);
        out.videoPackets += s.packetsReceived || 0;
        out.lost += s.packetsLost || 0;
      }
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        out.audioPackets += s.packetsReceived || 0;
        out.lost += s.packetsLost || 0;
        out.concealedSamples += s.concealedSamples || 0;
        out.silentConcealedSamples += s.silentConcealedSamples || 0;
        out.totalSamplesReceived += s.totalSamplesReceived || 0;
      }
    });
    const received = out.audioPackets + out.videoPackets;
    const previous = this.lastStats;
    const dReceived = previous ? received - previous.received : received;
    const dLost = previous ? out.lost - previous.lost : out.lost;
    out.loss = dReceived + dLost > 0 ? Math.max(0, dLost) / (dReceived + Math.max(0, dLost)) : 0;
    out.state = this.pc.connectionState;
    out.iceRestarts = this.totalRestarts;
    this.lastStats = { received, lost: out.lost };
    return out;
  }

  close() {
    this.closed = true;
    clearTimeout(this.graceTimer);
    if (this.channel) this.channel.onopen = this.channel.onmessage = null;
    this.pc.onicecandidate = this.pc.ontrack = this.pc.onnegotiationneeded = this.pc.onconnectionstatechange = null;
    this.pc.close();
    for (const track of this.stream.getTracks()) track.stop();
  }
}
