// Room authority on the call page: the room's state (host, lock, waiting room, recording), the People panel
// (rows, the host's actions per person, the waiting queue, room-level host controls), the notices for the
// person a host action affects, and the notices of recording (recording.js has its badge and button). The
// server decides; this only shows and asks (the words are authority.js's).
import { NO_STATE, refusal } from "./authority.js";
import { t } from "./i18n.js";
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
      if (this.state.host === self) toast(t("host.you_are_host"));
      else if (before.host === self) toast(t("host.new_host", { name: this.nameOf(this.state.host) || t("host.someone_else") }));
    }
    if (!this.state.host || this.state.host !== self) this.waiting = [];
    if (this.state.locked !== before.locked)
      toast(this.state.locked ? t("host.locked_notice") : t("host.unlocked_notice"));
    if (this.state.waitingRoom !== before.waitingRoom)
      toast(this.state.waitingRoom ? t("host.waiting_room_on") : t("host.waiting_room_off"));
    const rec = this.state.recording;
    if (rec && !before.recording) toast(rec.by === self ? t("rec.you_started") : t("rec.someone_started", { name: rec.name || t("rec.someone") }));
    else if (!rec && before.recording) toast(t("rec.stopped"));
    this.render();
  }

  /** The host's waiting queue: [{id, name, since}]. */
  setWaiting(waiting) {
    const seen = new Set(this.waiting.map((w) => w.id));
    this.waiting = Array.isArray(waiting) ? waiting : [];
    for (const person of this.waiting) {
      if (seen.has(person.id)) continue;
      toast(t("host.is_waiting", { name: person.name }), "info", 10000, [
        { label: t("host.admit"), ariaLabel: t("host.admit_name", { name: person.name }), run: () => this.admit(person) },
        { label: t("host.show"), ariaLabel: t("host.show_waiting"), run: () => this.call.controls.togglePanel("people", true) },
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
        toast(kind === "video" ? t("host.turned_off_camera") : t("host.muted_mic"), "info", 6000);
      },
      "unmute-request": ({ kind }) => {
        const video = kind === "video";
        const local = this.call.local;
        if (video ? local.videoOn && local.camTrack : local.audioOn && local.hasAudio()) return;
        toast(video ? t("host.asks_camera") : t("host.asks_unmute"), "info", 15000, [
          video
            ? { label: t("host.turn_camera_on"), run: () => !local.videoOn && local.toggleCamera() }
            : { label: t("host.unmute"), run: () => !(local.audioOn && local.hasAudio()) && local.toggleMic() },
        ]);
      },
      removed: ({ reason }) => this.call.removed(reason),
      "hand-lowered": ({ by }) => {
        this.call.local.handLowered();
        toast(t("host.lowered_your_hand", { name: by }), "info", 6000);
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
      title: t("host.remove_title", { name: peer.name }),
      text: t("host.remove_text", { name: peer.name }),
      ok: t("host.remove"),
    });
    if (sure) await this.request("remove", { peerId: peer.peerId }, t("call.was_removed", { name: peer.name }));
  }

  async endForAll() {
    const sure = await confirmAction({
      title: t("host.end_title"),
      text: t("host.end_text"),
      ok: t("host.end_all"),
    });
    if (!sure) return;
    // The server takes us out of the room too.
    if (await this.request("end", {})) this.call.end(t("left.you_ended"), t("left.ended_title"));
  }

  admit(person) {
    return this.request("admit", { id: person.id }, t("host.coming_in", { name: person.name }));
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
        ? action("mute-audio", t("host.mute_name", { name }), "mic-off", () => this.mute(peer, "audio"))
        : action("ask-audio", t("host.ask_unmute_name", { name }), "mic", () =>
            this.request("ask-unmute", { peerId: peer.peerId, kind: "audio" }, t("host.asked_unmute", { name })),
          ),
      peer.video
        ? action("mute-video", t("host.stop_camera_name", { name }), "video-off", () => this.mute(peer, "video"))
        : null,
      peer.hand
        ? action("lower-hand", t("host.lower_hand_name", { name }), "hand", () =>
            this.request("lower-hand", { peerId: peer.peerId }).then((ok) => ok && this.call.client.applyMedia({ peerId: peer.peerId, hand: false, handAt: null })),
          )
        : null,
      action("host", t("host.make_host_name", { name }), "crown", () => this.request("host", { peerId: peer.peerId })),
      action("remove", t("host.remove_name", { name }), "user-x", () => this.remove(peer), "danger"),
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
      const label = p.you ? t("people.you", { name: p.name }) : p.role === "recorder" ? t("people.recorder", { name: p.name }) : p.name;
      return el(
        "li",
        { dataset: { peerId: p.peerId || "self" } },
        el(
          "span",
          { class: "person-who" },
          el("span", { class: "person-name", text: label }),
          this.state.host && p.peerId === this.state.host ? el("span", { class: "host-badge", text: t("people.host") }) : null,
        ),
        el(
          "span",
          { class: "person-icons" },
          p.hand ? el("span", { class: "hand-place-row", role: "img", "aria-label": t("people.hand_number", { number: places.get(p.peerId) }), title: t("tile.hand_raised") }, icon("hand", "small accent"), String(places.get(p.peerId))) : null,
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
    lock.textContent = this.state.locked ? t("host.unlock") : t("host.lock");
    lock.setAttribute("aria-pressed", String(this.state.locked));
    const waitingRoom = $("btn-waiting-room");
    waitingRoom.setAttribute("aria-pressed", String(this.state.waitingRoom));
    $("waiting-room-state").textContent = this.state.waitingRoom ? t("common.on") : t("common.off");
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
            this.textButton(person.id, "admit", t("host.admit"), t("host.admit_name", { name: person.name }), () => this.admit(person), "primary"),
            this.textButton(person.id, "decline", t("host.decline"), t("host.decline_name", { name: person.name }), () => this.decline(person)),
          ),
        ),
      ),
    );
    const badge = $("waiting-badge");
    badge.textContent = String(queue.length);
    show(badge, queue.length > 0);
    $("btn-people").setAttribute("aria-label", queue.length ? t("people.label_waiting", { count: queue.length }) : t("people.label"));

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
