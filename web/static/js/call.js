// The call: composes its parts and runs the mesh. Our own media (local-media.js), the bar, shortcuts and
// panels (controls.js), chat (chat.js), room authority and the People panel (moderation.js), recording
// (recording.js), speaking and quality indicators (monitor.js), receiver-driven sizing (sizing.js); here:
// one PeerLink and one tile per remote peer from the client's peer table, re-joining after a reconnect, leaving.
import { Chat } from "./chat.js";
import { Controls } from "./controls.js";
import { serverText, t } from "./i18n.js";
import { IceRefresher } from "./ice.js";
import { chooseFeatured, VIEWS } from "./layout.js";
import { LocalMedia } from "./local-media.js";
import { PeerLink } from "./mesh.js";
import { Moderation } from "./moderation.js";
import { Monitor } from "./monitor.js";
import { handQueue } from "./peers.js";
import { ActiveSpeaker } from "./quality.js";
import { Recording } from "./recording.js";
import { outboundVideo, Sizing } from "./sizing.js";
import { layout, Tile } from "./tiles.js";
import { show, toast } from "./ui.js";

const $ = (id) => document.getElementById(id);
const VIEW_KEY = "noom.view";

function savedView() {
  try {
    const view = localStorage.getItem(VIEW_KEY);
    return VIEWS.includes(view) ? view : "grid";
  } catch {
    return "grid"; // storage refused (a private window's policy): the grid, unremembered
  }
}

export class Call {
  /**
   * @param {object} options
   * @param {import("./client.js").Client} options.client joined to the room (the join ack goes to start())
   * @param {string} options.room
   * @param {object} options.media {micTrack, camTrack, audioOn, videoOn, cameraId, micId, speakerId}
   * @param {(reason: string, title?: string) => void} options.onEnd called when the call is over for us
   */
  constructor({ client, room, name, password, media, onEnd }) {
    this.client = client;
    this.room = room;
    this.name = name;
    this.password = password;
    this.peers = new Map(); // peerId -> {peer (the client's peer table record), tile, link}
    this.onEnd = onEnd;
    this.selfId = null;
    this.ended = false;
    this.stage = $("stage");
    // What takes the stage (layout.js chooseFeatured): the view, a pinned tile (its peer id, "self" for ours),
    // the active speaker, and which tile had it last (it keeps the stage through silence).
    this.view = savedView();
    this.pinned = null;
    this.activeSpeaker = new ActiveSpeaker();
    this.featured = null;
    // Every DOM listener of this call goes with it when it ends (a rejoin makes a new Call on the same page).
    this.abort = new AbortController();
    this.local = new LocalMedia(this, media);
    this.moderation = new Moderation(this);
    this.recording = new Recording(this);
    this.sizing = new Sizing(this);
    this.iceRefresh = new IceRefresher({
      fetch: () => this.client.request("ice-servers", {}),
      apply: (servers) => this.applyIceServers(servers),
    });
    this.selfTile = new Tile({ peerId: "self", name, self: true, onPin: () => this.togglePin("self") });
    this.stage.append(this.selfTile.node);
    this.chat = new Chat(this);
    this.controls = new Controls(this);
    this.local.render();
    this.bindClient();
    this.monitor = new Monitor(this);
    this.resizeObserver = new ResizeObserver(() => this.relayout());
    this.resizeObserver.observe(this.stage);
    // For tests and troubleshooting from the console: read-only views of the call.
    window.noom = {
      selfId: () => this.selfId,
      peers: () => [...this.peers.values()].map(({ peer }) => ({ ...peer })),
      stats: (peerId) => this.peers.get(peerId)?.link.stats(),
      roomState: () => ({ ...this.moderation.state }),
      // The stage: the view, what is pinned, the active speaker and the tile that has the stage.
      stage: () => ({ view: this.view, pinned: this.pinned, speaker: this.activeSpeaker.current, featured: this.featured }),
      localTracks: () => this.local.tracks(),
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
    this.chat.reset(ack.chat);
    // The server starts everyone with audio and video on; say so if we are not.
    const local = this.local;
    const audio = local.hasAudio() && local.audioOn;
    const video = !!local.camTrack && local.videoOn;
    if (!audio || !video || local.screenTrack || local.hand) local.announce({ audio, video, screen: !!local.screenTrack, hand: local.hand });
    this.moderation.render();
    this.relayout();
  }

  addPeer(peer, initiator) {
    if (this.peers.has(peer.peerId)) return;
    const tile = new Tile({ peerId: peer.peerId, name: peer.name, onPin: () => this.togglePin(peer.peerId) });
    tile.setState(peer);
    tile.setSink(this.local.speakerId);
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
      local: () => this.local.current(),
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
    this.activeSpeaker.forget(peerId);
    if (this.pinned === peerId) this.pinned = null;
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
    entry.tile.setState(entry.peer);
    if (peer.hand && !before.hand) toast(t("call.hand_raised", { name: entry.peer.name }));
    this.relayout();
    this.renderPeople();
  }

  /** New TURN credentials: every open connection uses them from now on, and so do new ones. */
  applyIceServers(servers) {
    this.iceServers = servers;
    for (const { link } of this.peers.values()) link.setIceServers(servers);
  }

  bindClient() {
    const handlers = {
      ...this.moderation.handlers(),
      "peer-joined": (peer) => {
        this.addPeer(peer, false);
        // With a room state, recording is announced by room-state (with who started it).
        if (peer.role !== "recorder") toast(t("call.joined", { name: peer.name }));
        else if (!this.moderation.known) toast(t("rec.started"));
      },
      "peer-left": ({ peer, reason }) => {
        const entry = this.peers.get(peer.peerId);
        if (!entry) return;
        this.removePeer(peer.peerId);
        if (entry.peer.role === "recorder") {
          if (!this.moderation.known) toast(t("rec.stopped")); // else room-state says so
        } else if (reason === "removed") toast(t("call.was_removed", { name: entry.peer.name }));
        else toast(t(reason === "disconnected" ? "call.lost_connection" : "call.left", { name: entry.peer.name }));
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
      chat: (message) => this.chat.show(message, true),
      reaction: ({ from, emoji }) => this.peers.get(from)?.tile.showReaction(emoji),
      // The server closed this socket on purpose; socket.io-client does not reconnect after that.
      closed: () => this.end(t("left.server_closed")),
      lost: (reason) => {
        console.info(`noom: signaling connection lost (${reason}); reconnecting`);
        show($("conn-banner"), true);
      },
      // Reconnected: the server has dropped us, and the client joins again; we call everyone afresh.
      rejoining: () => this.dropAllPeers(),
      rejoined: (ack) => this.rejoined(ack),
    };
    this.unsubscribe = this.client.subscribe(handlers);
  }

  /** The answer to the client's join after a reconnect. */
  async rejoined(ack) {
    if (this.ended) return;
    show($("conn-banner"), false);
    if (!ack.ok && ack.error.code === "waiting") {
      // The room has a waiting room now: leave the queue (nobody would see us wait) and let Rejoin ask.
      await this.client.leave();
      this.end(t("left.now_waiting_room"), t("left.lost_title"));
      return;
    }
    if (!ack.ok) {
      this.end(t("left.could_not_rejoin", { reason: serverText(ack.error) }), t("left.lost_title"));
      return;
    }
    this.start(ack);
    toast(t("call.reconnected"));
  }

  /** ``removed`` from the server: a host removed us or ended the call. The server disconnects this socket;
   * we close it too, so nothing reconnects and re-joins by itself. */
  removed(reason) {
    if (this.ended) return;
    const ended = reason === "ended";
    this.end(ended ? t("left.host_ended") : t("left.host_removed"), ended ? t("left.ended_title") : t("left.removed_title"));
    this.client.socket.disconnect();
  }

  // ---- what several parts redraw ------------------------------------------------------------------

  renderPeople() {
    this.moderation.renderPeople();
  }

  relayout() {
    const entries = [...this.peers.values()].filter(({ peer }) => peer.role !== "recorder");
    const tiles = [this.selfTile, ...entries.map(({ tile }) => tile)];
    const selfState = this.local.state();
    const people = [{ peerId: "self", ...selfState }, ...entries.map(({ peer }) => peer)];
    const places = handQueue(people);
    for (const [i, tile] of tiles.entries()) {
      tile.setHandPlace(places.get(people[i].peerId) ?? null);
      tile.setPinned(this.pinned === people[i].peerId);
    }
    this.featured = chooseFeatured({
      tiles: people.map((p) => ({ id: p.peerId, screen: !!p.screen, self: p.peerId === "self" })),
      pinned: this.pinned,
      view: this.view,
      speaker: this.activeSpeaker.current,
      previous: this.featured,
    });
    layout(this.stage, tiles, tiles[people.findIndex((p) => p.peerId === this.featured)] || null);
  }

  /** Pin a tile to the stage (its peer id, "self" for ours), or unpin it if it was. */
  togglePin(id) {
    this.pinned = this.pinned === id ? null : id;
    this.relayout();
  }

  setView(view) {
    this.view = VIEWS.includes(view) ? view : "grid";
    try {
      localStorage.setItem(VIEW_KEY, this.view);
    } catch {
      /* not remembered, still applied */
    }
    this.controls.renderView();
    this.relayout();
  }

  /** Who is speaking now (the monitor's poll): the speaker view follows the active speaker. */
  speaking(ids, now) {
    const before = this.activeSpeaker.current;
    if (this.activeSpeaker.update(ids, now) !== before && this.view === "speaker") this.relayout();
  }

  /** Send a reaction; it floats over our own tile too. */
  async react(emoji) {
    const ack = await this.client.request("reaction", { emoji });
    if (ack.ok) this.selfTile.showReaction(emoji);
    else toast(t("call.reaction_failed", { reason: serverText(ack.error) }), "error", 4000);
  }

  // ---- leaving ------------------------------------------------------------------------------------

  async leave(reason = t("left.you_left"), title = undefined) {
    if (this.ended) return;
    await this.client.leave();
    this.end(reason, title);
  }

  end(reason, title) {
    if (this.ended) return;
    this.ended = true;
    this.monitor.stop();
    this.iceRefresh.stop();
    this.sizing.stop();
    this.resizeObserver.disconnect();
    this.abort.abort();
    this.unsubscribe();
    this.client.forget();
    this.dropAllPeers();
    this.local.stop();
    this.onEnd(reason, title);
  }
}
