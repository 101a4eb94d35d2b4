// Recording on the call page, a room event: any member starts it, the host or whoever started it stops it.
// The REC badge with who started it and the Record button (disabled, saying why, for anyone else); the
// rules are authority.js's. Its notices come with the room state (moderation.js).
import { currentRecording, startedBy, stopRefusal } from "./authority.js";
import { t } from "./i18n.js";
import { show, toast } from "./ui.js";

const $ = (id) => document.getElementById(id);

export class Recording {
  /** @param {import("./call.js").Call} call */
  constructor(call) {
    this.call = call;
  }

  /** The running recording, or null. */
  current() {
    return currentRecording(this.call.moderation.state, [...this.call.peers.values()].map(({ peer }) => peer));
  }

  /** Why we may not stop the running recording, or "" when we may (or nothing is recording). */
  cannotStop() {
    const { moderation, selfId } = this.call;
    return stopRefusal({ recording: this.current(), known: moderation.known, state: moderation.state, selfId, nameOf: (id) => moderation.nameOf(id) });
  }

  async toggle() {
    const why = this.cannotStop();
    if (why) {
      toast(why);
      return;
    }
    const stop = !!this.current();
    await this.call.moderation.request(stop ? "recording-stop" : "recording-start", {}, stop ? t("rec.stopping") : t("rec.starting"));
  }

  render() {
    const rec = this.current();
    show($("rec-indicator"), !!rec);
    const by = startedBy(rec, this.call.selfId, (id) => this.call.moderation.nameOf(id));
    $("rec-by").textContent = by ? `· ${by}` : "";
    $("rec-indicator").title = by ? t("rec.started_by", { name: by }) : t("rec.recording");
    const button = $("btn-record");
    const why = this.cannotStop();
    button.setAttribute("aria-pressed", String(!!rec));
    button.classList.toggle("recording", !!rec);
    button.setAttribute("aria-disabled", String(!!why));
    button.dataset.tip = why || (rec ? t("rec.stop") : t("rec.start_tip"));
    button.setAttribute("aria-label", rec ? t("rec.stop") : t("rec.record"));
    if (why) button.setAttribute("aria-description", why);
    else button.removeAttribute("aria-description");
  }
}
