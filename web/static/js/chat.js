// The call's chat: the message list (the join ack's history, then live messages), sending, and the unread
// badge while the panel is closed. Links in messages are built as elements (ui.linkified), never as HTML.
import { lang, serverText, t } from "./i18n.js";
import { unreadLabel } from "./text.js";
import { el, linkified, show, toast } from "./ui.js";

const $ = (id) => document.getElementById(id);

export class Chat {
  /** @param {import("./call.js").Call} call */
  constructor(call) {
    this.call = call;
    this.unread = 0;
    $("chat-form").addEventListener(
      "submit",
      async (event) => {
        event.preventDefault();
        const input = $("chat-input");
        const text = input.value;
        if (!text.trim()) return;
        if (await this.send(text)) input.value = "";
      },
      { signal: call.abort.signal },
    );
  }

  /** The history from a join ack replaces the list. */
  reset(messages = []) {
    $("chat-list").replaceChildren();
    for (const message of messages) this.show(message, false);
  }

  /** Add a message; a ``live`` one from someone else counts as unread while the panel is closed. */
  show(message, live) {
    const mine = message.from === this.call.selfId;
    const time = new Date(message.ts).toLocaleTimeString(lang(), { hour: "2-digit", minute: "2-digit" }); // the page's language
    const item = el(
      "li",
      { class: mine ? "mine" : "" },
      el("div", { class: "chat-meta" }, el("strong", { text: mine ? t("chat.you") : message.name }), el("time", { text: time })),
      el("p", { class: "chat-text" }, ...linkified(message.text)),
    );
    const list = $("chat-list");
    list.append(item);
    list.scrollTop = list.scrollHeight;
    if (live && !mine && $("side-chat").hidden) {
      this.unread += 1;
      const badge = $("unread");
      badge.textContent = unreadLabel(this.unread);
      show(badge, true);
      $("btn-chat").setAttribute("aria-label", t("chat.unread", { count: this.unread }));
      toast(`${message.name}: ${message.text.slice(0, 80)}`);
    }
  }

  async send(text) {
    const ack = await this.call.client.request("chat", { text });
    if (ack.ok) this.show(ack.message, false);
    else toast(serverText(ack.error), "error");
    return ack.ok;
  }

  /** The panel opened: everything is read, and the input has the keyboard. */
  read() {
    this.unread = 0;
    show($("unread"), false);
    $("btn-chat").setAttribute("aria-label", t("chat.title"));
    $("chat-input").focus();
  }
}
