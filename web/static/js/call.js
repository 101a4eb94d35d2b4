// The call: local media, one PeerLink per remote peer, tiles, the control bar, chat and people panels.
import { fillPicker, getCamera, getMic, LevelMeter } from "./devices.js";
import { grade, IceRefresher, PeerLink } from "./mesh.js";
import { Moderation } from "./moderation.js";
import { outboundVideo, Sizing } from "./sizing.js";
import { layout, Tile } from "./tiles.js";
import { el, linkified, setIcon, show, toast } from "./ui.js";

const $ = (id) => document.getElementById(id);
const SPEAKING_LEVEL_REMOTE = 0.04; // RTP audio level (0..1, linear)
const SPEAKING_LEVEL_SELF = 0.12; // our LevelMeter scale
const SPEAKING_HOLD_MS = 700;
const LEVEL_POLL_MS = 200;
const STATS_POLL_MS = 2000;

export class Call {
  /**
   * @param {object} options
   * @param {import("./client.js").Client} options.client joined to the room (the join ack goes to start())
   * @param {string} options.room
   * @param {object} options.media {stream, micTrack, camTrack, audioOn, videoOn, cameraId, micId, speakerId}
   * @param {(reason: string, title?: string) => void} options.onEnd called when the call is over for us
   */
  constructor({ client, room, name, password, media, onEnd }) {
    this.client = client;
    this.room = room;
    this.name = name;
    this.password = password;
    Object.assign(this, media);
    this.stream = new MediaStream([this.micTrack, this.camTrack].filter(Boolean));
    this.screenTrack = null;
    this.hand = false;
    this.peers = new Map(); // peerId -> {peer (the client's peer table record), tile, link}
    this.onEnd = onEnd;
    this.unread = 0;
    this.selfId = null;
    this.ended = false;
    this.lastLoud = new Map();
    this.meter = this.micTrack ? new LevelMeter(this.micTrack) : null;
    this.mutedHintUntil = 0;
    this.stage = $("stage");
    // Every DOM listener of this call goes with it when it ends (a rejoin makes a new Call on the same page).
    this.abort = new AbortController();
    this.moderation = new Moderation(this);
    this.sizing = new Sizing(this);
    this.iceRefresh = new IceRefresher({
      fetch: () => this.client.request("ice-servers", {}),
      apply: (servers) => this.applyIceServers(servers),
    });
    this.selfTile = new Tile({ peerId: "self", name, self: true });
    this.stage.append(this.selfTile.node);
    this.refreshSelf();
    this.bindSocket();
    this.bindControls();
    this.timers = [setInterval(() => this.pollLevels(), LEVEL_POLL_MS), setInterval(() => this.pollStats(), STATS_POLL_MS)];
    this.resizeObserver = new ResizeObserver(() => this.relayout());
    this.resizeObserver.observe(this.stage);
    // For tests and troubleshooting from the console: read-only views of the call.
    window.noom = {
      selfId: () => this.selfId,
      peers: () => [...this.peers.values()].map(({ peer }) => ({ ...peer })),
      stats: (peerId) => this.peers.get(peerId)?.link.stats(),
      roomState: () => ({ ...this.moderation.state }),
      // Our own microphone and camera as the browser has them (a muted mic is a disabled track).
      localTracks: () => ({
        audio: this.micTrack && { enabled: this.micTrack.enabled, readyState: this.micTrack.readyState },
        video: this.camTrack && { enabled: this.camTrack.enabled, readyState: this.camTrack.readyState },
      }),
      // The ICE servers an open connection uses now (the TURN credentials are refreshed before they expire).
      iceServers: (peerId) => this.peers.get(peerId)?.link.pc.getConfiguration().iceServers,
      // Simulates a network blip: the transport closes and Socket.IO reconnects by itself.
      dropConnection: () => this.client.socket.io.engine.close(),
      // Receiver-driven sizing (sizing.js): our video encoding toward a peer, its view, and getStats of it.
      senderParams: (peerId) => this.sizing.senderParams(peerId),
      outboundVideo: (peerId) => {
        const link = this.peers.get(peerId)?.link;
        return link ? outboundVideo(link.pc) : null;
      },
    };
  }

  // ---- joining and the mesh ---------------------------------------------------------------------

  /** Apply a successful join ack: offer to everyone already there (we are the newcomer). */
  start(ack) {
    this.selfId = ack.peerId;
    this.iceServers = ack.iceServers || [];
    this.iceRefresh.schedule(this.iceServers);
    this.selfTile.node.dataset.peerId = ack.peerId;
    this.moderation.reset(ack.state || null);
    for (const peer of this.client.peers.values()) this.addPeer(peer, true);
    $("chat-list").replaceChildren();
    for (const message of ack.chat || []) this.showChat(message, false);
    // The server starts everyone with audio and video on; say so if we are not.
    const audio = this.hasAudio() && this.audioOn;
    const video = !!this.camTrack && this.videoOn;
    if (!audio || !video || this.screenTrack || this.hand)
      this.client.request("media", { audio, video, screen: !!this.screenTrack, hand: this.hand });
    this.moderation.render();
    this.relayout();
  }

  localMedia() {
    return { audio: this.micTrack, video: this.screenTrack || (this.videoOn ? this.camTrack : null), stream: this.stream };
  }

  addPeer(peer, initiator) {
    if (this.peers.has(peer.peerId)) return;
    const tile = new Tile({ peerId: peer.peerId, name: peer.name });
    tile.setState(peer);
    tile.setSink(this.speakerId);
    const entry = { peer, tile, link: null };
    this.peers.set(peer.peerId, entry);
    // A bot without media of its own (a recorder) still gets our media, but no tile.
    if (peer.role !== "recorder") this.stage.append(tile.node);
    entry.link = new PeerLink({
      peer,
      selfId: this.selfId,
      iceServers: this.iceServers,
      initiator,
      send: (event, payload) => this.client.request(event, payload),
      local: () => this.localMedia(),
      onTrack: (link) => tile.setStream(link.stream),
      onView: (view) => this.sizing.received(peer.peerId, view),
      onViewOpen: () => this.sizing.channelOpen(peer.peerId),
    });
    if (peer.role !== "recorder") this.sizing.watch(peer.peerId, tile);
    this.relayout();
    this.moderation.render();
  }

  removePeer(peerId) {
    const entry = this.peers.get(peerId);
    if (!entry) return;
    this.peers.delete(peerId);
    this.sizing.unwatch(peerId);
    entry.link.close();
    entry.tile.node.remove();
    this.relayout();
    this.moderation.render();
  }

  dropAllPeers() {
    for (const peerId of [...this.peers.keys()]) this.removePeer(peerId);
  }

  /** A peer's media state changed (a ``media`` event, or our own host action the server accepted). */
  peerMedia({ peer, before }) {
    const entry = this.peers.get(peer.peerId);
    if (!entry) return;
    const raised = peer.hand && !before.hand;
    entry.tile.setState(entry.peer);
    if (raised) toast(`${entry.peer.name} raised their hand`);
    this.relayout();
    this.renderPeople();
  }

  /** New TURN credentials: every open connection uses them from now on, and so do new ones. */
  applyIceServers(servers) {
    this.iceServers = servers;
    for (const { link } of this.peers.values()) link.setIceServers(servers);
  }

  bindSocket() {
    this.handlers = {
      ...this.moderation.handlers(),
      "peer-joined": (peer) => {
        this.addPeer(peer, false);
        // With a room state, recording is announced by room-state (with who started it).
        if (peer.role !== "recorder") toast(`${peer.name} joined`);
        else if (!this.moderation.known) toast("Recording started");
      },
      "peer-left": ({ peer, reason }) => {
        const entry = this.peers.get(peer.peerId);
        if (!entry) return;
        this.removePeer(peer.peerId);
        if (entry.peer.role === "recorder") {
          if (!this.moderation.known) toast("Recording stopped"); // else room-state says so
        } else if (reason === "removed") toast(`${entry.peer.name} was removed from the call`);
        else toast(reason === "disconnected" ? `${entry.peer.name} lost connection` : `${entry.peer.name} left`);
      },
      offer: (msg) => this.peers.get(msg.from)?.link.receive("offer", msg),
      answer: (msg) => this.peers.get(msg.from)?.link.receive("answer", msg),
      ice: (msg) => this.peers.get(msg.from)?.link.receive("ice", msg),
      media: (change) => this.peerMedia(change),
      "peer-renamed": (peer) => {
        const entry = this.peers.get(peer.peerId);
        if (!entry) return;
        entry.tile.setName(peer.name);
        this.renderPeople();
      },
      chat: (message) => this.showChat(message, true),
      // The server closed this socket on purpose; socket.io-client does not reconnect after that.
      closed: () => this.end("The server closed your connection to the call."),
      lost: (reason) => {
        console.info(`noom: signaling connection lost (${reason}); reconnecting`);
        show($("conn-banner"), true);
      },
      // Reconnected: the server has dropped us, and the client joins again; we call everyone afresh.
      rejoining: () => this.dropAllPeers(),
      rejoined: (ack) => this.rejoined(ack),
    };
    this.unsubscribe = this.client.subscribe(this.handlers);
  }

  /** The answer to the client's join after a reconnect. */
  async rejoined(ack) {
    if (this.ended) return;
    show($("conn-banner"), false);
    if (!ack.ok && ack.error.code === "waiting") {
      // The room has a waiting room now: leave the queue (nobody would see us wait) and let Rejoin ask.
      await this.client.leave();
      this.end("You were disconnected, and the host now lets people in from a waiting room. Press Rejoin to ask to come back in.", "You lost your connection");
      return;
    }
    if (!ack.ok) {
      this.end(`You were disconnected and could not rejoin: ${ack.error.message}`, "You lost your connection");
      return;
    }
    this.start(ack);
    toast("Reconnected");
  }

  /** ``removed`` from the server: a host removed us or ended the call. The server disconnects this socket;
   * we close it too, so nothing reconnects and re-joins by itself. */
  removed(reason) {
    if (this.ended) return;
    const ended = reason === "ended";
    this.end(ended ? "The host ended the call for everyone." : "The host removed you from the call.", ended ? "The call has ended" : "You were removed from the call");
    this.client.socket.disconnect();
  }

  // ---- local media --------------------------------------------------------------------------------

  hasAudio() {
    return !!this.micTrack;
  }

  refreshSelf() {
    const showing = this.screenTrack || (this.videoOn && this.camTrack);
    const selfStream = new MediaStream(showing ? [this.screenTrack || this.camTrack] : []);
    this.selfTile.setStream(selfStream);
    this.selfTile.node.classList.toggle("mirror", !this.screenTrack);
    this.selfTile.setState({ audio: this.audioOn && this.hasAudio(), video: !!showing, screen: !!this.screenTrack, hand: this.hand });
    const mic = $("btn-mic");
    const micOn = this.audioOn && this.hasAudio();
    mic.setAttribute("aria-pressed", String(micOn));
    mic.classList.toggle("off", !micOn);
    mic.dataset.tip = micOn ? "Mute (M)" : "Unmute (M)";
    setIcon(mic, micOn ? "mic" : "mic-off");
    const cam = $("btn-cam");
    const camOn = this.videoOn && !!this.camTrack;
    cam.setAttribute("aria-pressed", String(camOn));
    cam.classList.toggle("off", !camOn);
    cam.dataset.tip = camOn ? "Turn camera off (V)" : "Turn camera on (V)";
    setIcon(cam, camOn ? "video" : "video-off");
    const share = $("btn-share");
    share.setAttribute("aria-pressed", String(!!this.screenTrack));
    share.classList.toggle("active", !!this.screenTrack);
    share.dataset.tip = this.screenTrack ? "Stop sharing (S)" : "Share your screen (S)";
    setIcon(share, this.screenTrack ? "monitor-off" : "monitor-up");
    const hand = $("btn-hand");
    hand.setAttribute("aria-pressed", String(this.hand));
    hand.classList.toggle("active", this.hand);
    hand.dataset.tip = this.hand ? "Lower hand (H)" : "Raise hand (H)";
    this.relayout();
    this.renderPeople();
  }

  async sendVideo() {
    const track = this.localMedia().video;
    await Promise.all([...this.peers.values()].map(({ link }) => link.replace("video", track)));
    this.sizing.update(); // a new track: its capture size and encodings (screen or camera) follow the views
  }

  async toggleMic() {
    if (!this.micTrack) {
      try {
        this.micTrack = await getMic(this.micId);
      } catch {
        toast("No microphone is available. Plug one in or allow it in the browser's site settings.", "error", 6000);
        return;
      }
      this.stream.addTrack(this.micTrack);
      this.meter = new LevelMeter(this.micTrack);
      this.audioOn = true;
      await Promise.all([...this.peers.values()].map(({ link }) => link.replace("audio", this.micTrack)));
    } else {
      this.audioOn = !this.audioOn;
    }
    // Muting disables the track (silence, no renegotiation); the meter's clone still hears us for the hint.
    this.micTrack.enabled = this.audioOn;
    this.client.request("media", { audio: this.audioOn });
    this.refreshSelf();
  }

  async toggleCamera() {
    if (this.videoOn && this.camTrack) {
      // Off means off: stop the camera so its light goes out.
      this.videoOn = false;
      this.stream.removeTrack(this.camTrack);
      this.camTrack.stop();
      this.camTrack = null;
    } else {
      try {
        this.camTrack = await getCamera(this.cameraId);
      } catch {
        toast("No camera is available. Plug one in or allow it in the browser's site settings.", "error", 6000);
        return;
      }
      this.stream.addTrack(this.camTrack);
      this.videoOn = true;
    }
    await this.sendVideo();
    this.client.request("media", { video: this.videoOn });
    this.refreshSelf();
  }

  /** The host turned our microphone or camera off: exactly what pressing M or V does (the server has
   * already lowered our flag; our own ``media`` keeps it so). */
  async turnOff(kind) {
    if (kind === "video") {
      if (this.videoOn && this.camTrack) await this.toggleCamera();
    } else if (this.audioOn && this.micTrack) await this.toggleMic();
  }

  /** Switch camera, microphone or speaker mid-call: replaceTrack, no renegotiation. */
  async switchDevice(kind, deviceId) {
    try {
      if (kind === "videoinput") {
        this.cameraId = deviceId;
        if (!this.videoOn) return;
        const track = await getCamera(deviceId);
        const old = this.camTrack;
        this.camTrack = track;
        this.stream.addTrack(track);
        await this.sendVideo();
        if (old) {
          // Only stop the old camera once every sender has moved to the new one.
          this.stream.removeTrack(old);
          old.stop();
        }
        this.refreshSelf();
      } else if (kind === "audioinput") {
        this.micId = deviceId;
        const track = await getMic(deviceId);
        track.enabled = this.audioOn;
        if (this.micTrack) {
          this.stream.removeTrack(this.micTrack);
          this.micTrack.stop();
        }
        this.meter?.stop();
        this.micTrack = track;
        this.stream.addTrack(track);
        this.meter = new LevelMeter(track);
        await Promise.all([...this.peers.values()].map(({ link }) => link.replace("audio", track)));
      } else {
        this.speakerId = deviceId;
        for (const { tile } of this.peers.values()) await tile.setSink(deviceId);
      }
      localStorage.setItem(`noom.${kind}`, deviceId);
    } catch (error) {
      toast(`Could not switch to that device (${error.name || error}). Pick another one.`, "error", 6000);
    }
  }

  async toggleShare() {
    if (this.screenTrack) return this.stopShare();
    if (!navigator.mediaDevices?.getDisplayMedia) {
      toast("This browser cannot share the screen. Try a desktop browser such as Chrome, Edge or Firefox.", "error", 6000);
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    } catch (error) {
      if (error.name !== "NotAllowedError") toast("Screen sharing did not start. Try again.", "error");
      return;
    }
    this.screenTrack = stream.getVideoTracks()[0];
    this.screenTrack.contentHint = "detail";
    // The browser's own "Stop sharing" button ends the track: stop cleanly from there too.
    this.screenTrack.addEventListener("ended", () => this.stopShare());
    await this.sendVideo();
    this.client.request("media", { screen: true });
    this.refreshSelf();
    toast("You are presenting your screen");
  }

  async stopShare() {
    if (!this.screenTrack) return;
    const track = this.screenTrack;
    this.screenTrack = null;
    track.stop();
    await this.sendVideo();
    this.client.request("media", { screen: false });
    this.refreshSelf();
  }

  toggleHand() {
    this.hand = !this.hand;
    this.client.request("media", { hand: this.hand });
    this.refreshSelf();
  }

  // ---- recording and the People panel live in moderation.js ---------------------------------------

  renderPeople() {
    this.moderation.renderPeople();
  }

  // ---- chat and people ----------------------------------------------------------------------------

  showChat(message, live) {
    const mine = message.from === this.selfId;
    const time = new Date(message.ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const item = el(
      "li",
      { class: mine ? "mine" : "" },
      el("div", { class: "chat-meta" }, el("strong", { text: mine ? "You" : message.name }), el("time", { text: time })),
      el("p", { class: "chat-text" }, ...linkified(message.text)),
    );
    const list = $("chat-list");
    list.append(item);
    list.scrollTop = list.scrollHeight;
    if (live && !mine && $("side-chat").hidden) {
      this.unread += 1;
      const badge = $("unread");
      badge.textContent = this.unread > 9 ? "9+" : String(this.unread);
      show(badge, true);
      $("btn-chat").setAttribute("aria-label", `Chat, ${this.unread} unread`);
      toast(`${message.name}: ${message.text.slice(0, 80)}`);
    }
  }

  async sendChat(text) {
    const ack = await this.client.request("chat", { text });
    if (ack.ok) this.showChat(ack.message, false);
    else toast(ack.error.message, "error");
    return ack.ok;
  }

  togglePanel(which, force) {
    const panel = $(which === "chat" ? "side-chat" : "side-people");
    const other = $(which === "chat" ? "side-people" : "side-chat");
    const open = force ?? panel.hidden;
    show(panel, open);
    if (open) show(other, false);
    $("btn-chat").setAttribute("aria-expanded", String(!$("side-chat").hidden));
    $("btn-people").setAttribute("aria-expanded", String(!$("side-people").hidden));
    $("btn-chat").classList.toggle("active", !$("side-chat").hidden);
    $("btn-people").classList.toggle("active", !$("side-people").hidden);
    if (which === "chat" && open) {
      this.unread = 0;
      show($("unread"), false);
      $("btn-chat").setAttribute("aria-label", "Chat");
      $("chat-input").focus();
    }
    this.relayout();
  }

  async invite() {
    const link = `${location.origin}/r/${encodeURIComponent(this.room)}`;
    try {
      await navigator.clipboard.writeText(link);
      toast(`Invite link copied: ${link}`);
    } catch {
      toast(`Share this link to invite people: ${link}`, "info", 8000);
    }
  }

  // ---- controls -----------------------------------------------------------------------------------

  bindControls() {
    const signal = this.abort.signal;
    const on = (id, fn) => $(id).addEventListener("click", fn, { signal });
    on("btn-mic", () => this.toggleMic());
    on("btn-cam", () => this.toggleCamera());
    on("btn-share", () => this.toggleShare());
    on("btn-hand", () => this.toggleHand());
    on("btn-record", () => this.moderation.toggleRecording());
    on("btn-chat", () => this.togglePanel("chat"));
    on("btn-people", () => this.togglePanel("people"));
    on("btn-invite", () => this.invite());
    on("btn-leave", () => this.leave());
    on("btn-settings", () => this.toggleSettings());
    for (const button of document.querySelectorAll("[data-close]")) button.addEventListener("click", () => this.togglePanel(button.dataset.close, false), { signal });
    $("chat-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = $("chat-input");
      const text = input.value;
      if (!text.trim()) return;
      if (await this.sendChat(text)) input.value = "";
    }, { signal });
    for (const [id, kind] of [["call-camera", "videoinput"], ["call-mic", "audioinput"], ["call-speaker", "audiooutput"]])
      $(id).addEventListener("change", (event) => this.switchDevice(kind, event.target.value), { signal });
    this.keyHandler = (event) => {
      if (document.querySelector("dialog[open]")) return; // a confirmation has the keyboard
      if (event.key === "Escape") {
        // Escape closes whatever is open over the stage.
        if (!$("settings").hidden) this.toggleSettings();
        else if (!$("side-chat").hidden) this.togglePanel("chat", false);
        else if (!$("side-people").hidden) this.togglePanel("people", false);
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
      const action = { m: "btn-mic", v: "btn-cam", s: "btn-share", h: "btn-hand", c: "btn-chat" }[event.key.toLowerCase()];
      if (!action) return;
      event.preventDefault();
      $(action).click();
    };
    document.addEventListener("keydown", this.keyHandler, { signal });
  }

  async toggleSettings() {
    const panel = $("settings");
    const open = panel.hidden;
    if (open) {
      await fillPicker($("call-camera"), "videoinput", this.cameraId || this.camTrack?.getSettings().deviceId);
      await fillPicker($("call-mic"), "audioinput", this.micId || this.micTrack?.getSettings().deviceId);
      await fillPicker($("call-speaker"), "audiooutput", this.speakerId);
    }
    show(panel, open);
    $("btn-settings").setAttribute("aria-expanded", String(open));
    $("btn-settings").classList.toggle("active", open);
  }

  // ---- periodic: speaking, "you are muted", connection quality ------------------------------------

  pollLevels() {
    const now = performance.now();
    const mark = (key, loud, tile) => {
      if (loud) this.lastLoud.set(key, now);
      tile.setSpeaking(now - (this.lastLoud.get(key) || -1e9) < SPEAKING_HOLD_MS);
    };
    const selfLevel = this.meter ? this.meter.level() : 0;
    mark("self", this.audioOn && selfLevel > SPEAKING_LEVEL_SELF, this.selfTile);
    if (!this.audioOn && this.meter && selfLevel > SPEAKING_LEVEL_SELF * 1.5) this.mutedHintUntil = now + 3000;
    show($("muted-hint"), now < this.mutedHintUntil && !this.audioOn);
    for (const [peerId, { link, tile, peer }] of this.peers) mark(peerId, peer.audio && link.audioLevel() > SPEAKING_LEVEL_REMOTE, tile);
  }

  async pollStats() {
    for (const { link, tile, peer } of this.peers.values()) {
      try {
        const s = await link.stats();
        const level = grade(s, peer.video || peer.screen);
        const words = { good: "Good connection", fair: "Fair connection", poor: "Poor connection" }[level];
        const rtt = s.rtt === null ? "–" : `${Math.round(s.rtt)} ms`;
        tile.setQuality(level, `${words}: round trip ${rtt}, loss ${(s.loss * 100).toFixed(1)}%, ${Math.round(s.fps)} fps`);
      } catch {
        /* the connection closed meanwhile */
      }
    }
  }

  relayout() {
    const tiles = [this.selfTile, ...[...this.peers.values()].filter(({ peer }) => peer.role !== "recorder").map(({ tile }) => tile)];
    layout(this.stage, tiles);
  }

  // ---- leaving ------------------------------------------------------------------------------------

  async leave(reason = "You left the call.", title = undefined) {
    if (this.ended) return;
    await this.client.leave();
    this.end(reason, title);
  }

  end(reason, title) {
    if (this.ended) return;
    this.ended = true;
    for (const timer of this.timers) clearInterval(timer);
    this.iceRefresh.stop();
    this.sizing.stop();
    this.resizeObserver.disconnect();
    this.abort.abort();
    this.unsubscribe();
    this.client.forget();
    this.dropAllPeers();
    this.meter?.stop();
    for (const track of [this.micTrack, this.camTrack, this.screenTrack]) track?.stop();
    this.onEnd(reason, title);
  }
}
