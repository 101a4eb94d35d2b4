// The call's controls: the bar's buttons, the keyboard shortcuts (M V S H C, Escape), the chat and People
// side panels, the settings panel with the device pickers, the grid / speaker view switch, the reactions menu
// and the invite link.
import { fillPicker } from "./devices.js";
import { rememberNoiseSuppression } from "./noise.js";
import { rememberBackground } from "./background.js";
import { roomPath } from "./joining.js";
import { escapeTarget, shortcutFor } from "./shortcuts.js";
import { t } from "./i18n.js";
import { setIcon, show, toast } from "./ui.js";

const $ = (id) => document.getElementById(id);

export class Controls {
  /** @param {import("./call.js").Call} call */
  constructor(call) {
    this.call = call;
    this.bind();
    this.renderView();
  }

  bind() {
    const call = this.call;
    const local = call.local;
    const signal = call.abort.signal;
    const on = (id, fn) => $(id).addEventListener("click", fn, { signal });
    on("btn-mic", () => local.toggleMic());
    on("btn-cam", () => local.toggleCamera());
    on("btn-share", () => local.toggleShare());
    on("btn-hand", () => local.toggleHand());
    on("btn-record", () => call.recording.toggle());
    on("btn-chat", () => this.togglePanel("chat"));
    on("btn-people", () => this.togglePanel("people"));
    on("btn-invite", () => this.invite());
    on("btn-leave", () => call.leave());
    on("btn-settings", () => this.toggleSettings());
    on("btn-view", () => call.setView(call.view === "speaker" ? "grid" : "speaker"));
    on("btn-react", () => this.toggleReactions());
    for (const button of document.querySelectorAll("#reactions [data-emoji]"))
      button.addEventListener(
        "click",
        () => {
          this.toggleReactions(false);
          call.react(button.dataset.emoji);
        },
        { signal },
      );
    for (const button of document.querySelectorAll("[data-close]")) button.addEventListener("click", () => this.togglePanel(button.dataset.close, false), { signal });
    for (const [id, kind] of [["call-camera", "videoinput"], ["call-mic", "audioinput"], ["call-speaker", "audiooutput"]])
      $(id).addEventListener("change", (event) => local.switchDevice(kind, event.target.value), { signal });
    $("call-noise").addEventListener(
      "change",
      (event) => {
        rememberNoiseSuppression(event.target.checked);
        local.setNoiseSuppression(event.target.checked);
      },
      { signal },
    );
    $("call-background").addEventListener(
      "change",
      (event) => {
        rememberBackground(event.target.value);
        local.setBackground(event.target.value);
      },
      { signal },
    );
    document.addEventListener("keydown", (event) => this.key(event), { signal });
  }

  key(event) {
    if (document.querySelector("dialog[open]")) return; // a confirmation has the keyboard
    const inField = !!event.target.closest?.("input, textarea, select, [contenteditable]");
    const action = shortcutFor(event, inField);
    if (action === "escape") {
      // Escape closes whatever is open over the stage.
      if (!$("reactions").hidden) return this.toggleReactions(false);
      const open = escapeTarget({ settings: !$("settings").hidden, chat: !$("side-chat").hidden, people: !$("side-people").hidden });
      if (open === "settings") this.toggleSettings();
      else if (open) this.togglePanel(open, false);
      return;
    }
    if (!action) return;
    event.preventDefault();
    $(action).click();
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
    if (which === "chat" && open) this.call.chat.read();
    this.call.relayout();
  }

  async toggleSettings() {
    const panel = $("settings");
    const open = panel.hidden;
    if (open) {
      const local = this.call.local;
      await fillPicker($("call-camera"), "videoinput", local.cameraId || local.camTrack?.getSettings().deviceId);
      await fillPicker($("call-mic"), "audioinput", local.micId || local.micTrack?.getSettings().deviceId);
      await fillPicker($("call-speaker"), "audiooutput", local.speakerId);
      $("call-noise").checked = local.noiseSuppression;
      $("call-background").value = local.background;
    }
    show(panel, open);
    $("btn-settings").setAttribute("aria-expanded", String(open));
    $("btn-settings").classList.toggle("active", open);
  }

  /** The view switch shows the view it leads to. */
  renderView() {
    const speaker = this.call.view === "speaker";
    const button = $("btn-view");
    button.setAttribute("aria-pressed", String(speaker));
    button.setAttribute("aria-label", t("bar.speaker_view"));
    button.dataset.tip = speaker ? t("bar.grid_tip") : t("bar.speaker_view_tip");
    button.classList.toggle("active", speaker);
    setIcon(button, speaker ? "layout-grid" : "presentation");
  }

  /** The reactions menu over the bar; its first emoji takes the focus so the keyboard can pick one. */
  toggleReactions(force) {
    const menu = $("reactions");
    const open = force ?? menu.hidden;
    show(menu, open);
    $("btn-react").setAttribute("aria-expanded", String(open));
    $("btn-react").classList.toggle("active", open);
    if (open) menu.querySelector("button")?.focus();
  }

  async invite() {
    const link = location.origin + roomPath(this.call.room);
    try {
      await navigator.clipboard.writeText(link);
      toast(t("bar.invite_copied", { link }));
    } catch {
      toast(t("bar.invite_share", { link }), "info", 8000);
    }
  }
}
