// Room authority on the call page: the room's state (host, lock, waiting room, recording), the People panel
// (rows, the host's actions per person, the waiting queue, room-level host controls), the notices for the
// person a host action affects, and the notices of recording (recording.js has its badge and button). The
// server decides; this only shows and asks (the words are authority.js's).
import { NO_STATE, refusal } from "./authority.js";
import { handQueue } from "./peers.js";
import { confirmAction, el, icon, show, toast } from "./ui.js";

const $ = (id) => document.getElementById(id);

export class Moderation {
  /** @param {import("./call.js").Call} call */
  constructor(call) {
    this.call = call;
    this.state = { ...NO_STATE };
    this.known = false; // the server sent a room state (servers before room authority do not)
    this.waiting = [];
    this.bindControls();
  }

  // ---- state from the server ----------------------------------------------------------------------

  isHost() {
    return !!this.call.selfId && this.state.host === this.call.selfId;
  }

  nameOf(peerId) {
    if (peerId === this.call.selfId) return this.call.name;
    return this.call.peers.get(peerId)?.peer.name || null;
  }

  /** The join ack's ``state`` (null from an older server): replaces what we knew, without notices. */
  reset(state) {
    this.known = !!state;
    this.state = { ...NO_STATE, ...(state || {}) };
    this.waiting = [];
    this.render();
  }

  /** A ``room-state`` push: say what changed, then show it. */
  update(state) {
    const before = this.state;
    this.known = true;
    this.state = { ...NO_STATE, ...state };
    const self = this.call.selfId;
    if (this.state.host !== before.host && this.state.host) {
      if (this.state.host === self) toast("You are now the host. Your host controls are in the People panel.");
      else if (before.host === self) toast(`${this.nameOf(this.state.host) || "Someone else"} is now the host`);
    }
    if (!this.state.host || this.state.host !== self) this.waiting = [];
    if (this.state.locked !== before.locked)
      toast(this.state.locked ? "The room is locked: nobody new can join" : "The room is unlocked");
    if (this.state.waitingRoom !== before.waitingRoom)
      toast(this.state.waitingRoom ? "Waiting room on: the host lets newcomers in" : "Waiting room off");
    const rec = this.state.recording;
    if (rec && !before.recording) toast(rec.by === self ? "You started recording" : `${rec.name || "Someone"} started recording`);
    else if (!rec && before.recording) toast("Recording stopped");
    this.render();
  }

  /** The host's waiting queue: [{id, name, since}]. */
  setWaiting(waiting) {
    const seen = new Set(this.waiting.map((w) => w.id));
    this.waiting = Array.isArray(waiting) ? waiting : [];
    for (const person of this.waiting) {
      if (seen.has(person.id)) continue;
      toast(`${person.name} is waiting to join`, "info", 10000, [
        { label: "Admit", ariaLabel: `Admit ${person.name}`, run: () => this.admit(person) },
        { label: "Show", ariaLabel: "Show the waiting list", run: () => this.call.controls.togglePanel("people", true) },
      ]);
    }
    this.render();
  }

  /** Socket handlers; the call binds them with its own and unbinds them when it ends. */
  handlers() {
    return {
      "room-state": (state) => this.update(state),
      waiting: ({ waiting }) => this.setWaiting(waiting),
      muted: ({ kind }) => {
        this.call.local.turnOff(kind);
        toast(kind === "video" ? "The host turned off your camera" : "The host muted your microphone", "info", 6000);
      },
      "unmute-request": ({ kind }) => {
        const video = kind === "video";
        const local = this.call.local;
        if (video ? local.videoOn && local.camTrack : local.audioOn && local.hasAudio()) return;
        toast(video ? "The host asks you to turn on your camera" : "The host asks you to unmute your microphone", "info", 15000, [
          video
            ? { label: "Turn camera on", run: () => !local.videoOn && local.toggleCamera() }
            : { label: "Unmute", run: () => !(local.audioOn && local.hasAudio()) && local.toggleMic() },
        ]);
      },
      removed: ({ reason }) => this.call.removed(reason),
      "hand-lowered": ({ by }) => {
        this.call.local.handLowered();
        toast(`${by} lowered your hand`, "info", 6000);
      },
    };
  }

  // ---- host requests --------------------------------------------------------------------------------

  async request(event, payload, done) {
    const ack = await this.call.client.request(event, payload);
    if (!ack.ok) toast(refusal(ack), "error", 5000);
    else if (done) toast(done);
    return ack.ok;
  }

  /** Turn someone's mic or camera off; the server has lowered their flag once it says ok. */
  async mute(peer, kind) {
    if (await this.request("mute", { peerId: peer.peerId, kind })) this.call.client.applyMedia({ peerId: peer.peerId, [kind]: false });
  }

  async remove(peer) {
    const sure = await confirmAction({
      title: `Remove ${peer.name}?`,
      text: `${peer.name} leaves the call at once and cannot join this room again for a while.`,
      ok: "Remove",
    });
    if (sure) await this.request("remove", { peerId: peer.peerId }, `${peer.name} was removed from the call`);
  }

  async endForAll() {
    const sure = await confirmAction({
      title: "End the call for everyone?",
      text: "Everyone in this call is disconnected and the room closes.",
      ok: "End call for everyone",
    });
    if (!sure) return;
    // The server takes us out of the room too.
    if (await this.request("end", {})) this.call.end("You ended the call for everyone.", "The call has ended");
  }

  admit(person) {
    return this.request("admit", { id: person.id }, `${person.name} is coming in`);
  }

  decline(person) {
    return this.request("decline", { id: person.id });
  }

  // ---- the People panel -----------------------------------------------------------------------------

  bindControls() {
    const on = (id, fn) => $(id).addEventListener("click", fn, { signal: this.call.abort.signal });
    on("btn-lock", () => this.request("lock", { locked: !this.state.locked }));
    on("btn-waiting-room", () => this.request("waiting-room", { enabled: !this.state.waitingRoom }));
    on("btn-end-all", () => this.endForAll());
  }

  /** Everything that depends on the room state: top bar, People panel, Record button. */
  render() {
    show($("lock-indicator"), this.state.locked);
    show($("waiting-room-indicator"), this.state.waitingRoom);
    this.call.recording.render();
    this.renderPeople();
  }

  personActions(peer) {
    const name = peer.name;
    const action = (id, label, iconName, run, extra = "") =>
      this.actionButton(peer.peerId, id, label, iconName, run, extra);
    return el(
      "span",
      { class: "person-actions" },
      peer.audio
        ? action("mute-audio", `Mute ${name}`, "mic-off", () => this.mute(peer, "audio"))
        : action("ask-audio", `Ask ${name} to unmute`, "mic", () =>
            this.request("ask-unmute", { peerId: peer.peerId, kind: "audio" }, `Asked ${name} to unmute`),
          ),
      peer.video
        ? action("mute-video", `Stop ${name}'s camera`, "video-off", () => this.mute(peer, "video"))
        : null,
      peer.hand
        ? action("lower-hand", `Lower ${name}'s hand`, "hand", () =>
            this.request("lower-hand", { peerId: peer.peerId }).then((ok) => ok && this.call.client.applyMedia({ peerId: peer.peerId, hand: false, handAt: null })),
          )
        : null,
      action("host", `Make ${name} host`, "crown", () => this.request("host", { peerId: peer.peerId })),
      action("remove", `Remove ${name}`, "user-x", () => this.remove(peer), "danger"),
    );
  }

  actionButton(target, id, label, iconName, run, extra = "") {
    const button = el("button", { type: "button", class: `icon-btn small ${extra}`.trim(), "aria-label": label, title: label, dataset: { action: id, target } }, icon(iconName, "small"));
    button.addEventListener("click", run);
    return button;
  }

  renderPeople() {
    const call = this.call;
    const host = this.isHost();
    // Rows are rebuilt on every change; keep the keyboard focus on the same action (or row) across it.
    const focused = document.activeElement?.closest?.("#side-people [data-target]");
    const keep = focused ? { target: focused.dataset.target, action: focused.dataset.action } : null;

    const local = call.local;
    const self = { peerId: call.selfId, name: call.name, kind: "human", audio: local.audioOn && local.hasAudio(), video: local.videoOn && !!local.camTrack, hand: local.hand, handAt: local.handAt, screen: !!local.screenTrack };
    const everyone = [{ ...self, you: true }, ...[...call.peers.values()].map(({ peer }) => peer)];
    // Raised hands first, in the order they went up (numbered as on the tiles), then everyone else as they came.
    const places = handQueue(everyone);
    const rows = [...everyone.filter((p) => places.has(p.peerId)).sort((a, b) => places.get(a.peerId) - places.get(b.peerId)), ...everyone.filter((p) => !places.has(p.peerId))];
    const items = rows.map((p) => {
      const label = p.you ? `${p.name} (you)` : p.role === "recorder" ? `${p.name} (recorder)` : p.name;
      return el(
        "li",
        { dataset: { peerId: p.peerId || "self" } },
        el(
          "span",
          { class: "person-who" },
          el("span", { class: "person-name", text: label }),
          this.state.host && p.peerId === this.state.host ? el("span", { class: "host-badge", text: "Host" }) : null,
        ),
        el(
          "span",
          { class: "person-icons" },
          p.hand ? el("span", { class: "hand-place-row", role: "img", "aria-label": `Hand raised, number ${places.get(p.peerId)}`, title: "Hand raised" }, icon("hand", "small accent"), String(places.get(p.peerId))) : null,
          p.screen ? icon("monitor-up", "small") : null,
          p.kind === "bot" ? null : icon(p.video ? "video" : "video-off", p.video ? "small" : "small dim"),
          p.kind === "bot" ? null : icon(p.audio ? "mic" : "mic-off", p.audio ? "small" : "small danger"),
        ),
        host && !p.you && p.kind !== "bot" ? this.personActions(p) : null,
      );
    });
    $("people-list").replaceChildren(...items);
    $("people-count").textContent = `(${rows.length})`;

    // Room-level controls and the waiting queue: the host's only.
    show($("host-controls"), host);
    const lock = $("btn-lock");
    lock.textContent = this.state.locked ? "Unlock room" : "Lock room";
    lock.setAttribute("aria-pressed", String(this.state.locked));
    const waitingRoom = $("btn-waiting-room");
    waitingRoom.setAttribute("aria-pressed", String(this.state.waitingRoom));
    $("waiting-room-state").textContent = this.state.waitingRoom ? "On" : "Off";
    const queue = host ? this.waiting : [];
    show($("waiting-section"), queue.length > 0);
    $("waiting-count").textContent = `(${queue.length})`;
    $("waiting-list").replaceChildren(
      ...queue.map((person) =>
        el(
          "li",
          { dataset: { waitId: person.id } },
          el("span", { class: "person-name", text: person.name }),
          el(
            "span",
            { class: "person-actions" },
            this.textButton(person.id, "admit", "Admit", `Admit ${person.name}`, () => this.admit(person), "primary"),
            this.textButton(person.id, "decline", "Decline", `Decline ${person.name}`, () => this.decline(person)),
          ),
        ),
      ),
    );
    const badge = $("waiting-badge");
    badge.textContent = String(queue.length);
    show(badge, queue.length > 0);
    $("btn-people").setAttribute("aria-label", queue.length ? `Participants, ${queue.length} waiting` : "Participants");

    if (keep) {
      const again =
        document.querySelector(`#side-people [data-target="${CSS.escape(keep.target)}"][data-action="${CSS.escape(keep.action || "")}"]`) ||
        document.querySelector(`#side-people [data-target="${CSS.escape(keep.target)}"]`);
      (again || $("people-list")).focus();
    }
  }

  textButton(target, id, text, label, run, extra = "") {
    const button = el("button", { type: "button", class: `btn small ${extra}`.trim(), text, "aria-label": label, dataset: { action: id, target } });
    button.addEventListener("click", run);
    return button;
  }
}
