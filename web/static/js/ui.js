// Small DOM helpers shared by the pages. Everything user-supplied goes through textContent, never HTML.
import { t } from "./i18n.js";
import { linkParts } from "./text.js";

/** Create an element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** Chat text as nodes: text nodes, plus <a> for links (built as elements, never parsed as HTML). */
export function linkified(text) {
  return linkParts(text).map((part) =>
    part.link
      ? el("a", { href: part.link, text: part.link, target: "_blank", rel: "noopener noreferrer", download: part.own || null })
      : document.createTextNode(part.text),
  );
}

/** A Lucide icon (an SVG file used as a CSS mask, so it takes the text colour). */
export function icon(name, extra = "") {
  return el("span", { class: `icon i-${name} ${extra}`.trim(), "aria-hidden": "true" });
}

/** Swap the icon inside a button or container. */
export function setIcon(container, name) {
  const node = container.querySelector(".icon");
  if (node) node.className = node.className.replace(/\bi-[a-z0-9-]+/, `i-${name}`);
}

let toastRoot = null;
/**
 * A short message in the corner that goes away by itself. ``actions`` ([{label, run}]) become buttons in it;
 * pressing one runs it and closes the toast.
 */
export function toast(text, kind = "info", ms = 3500, actions = []) {
  toastRoot ??= document.getElementById("toasts");
  if (!toastRoot) return null;
  const node = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, el("span", { class: "toast-text", text }));
  const close = () => {
    node.classList.add("going");
    setTimeout(() => node.remove(), 400);
  };
  if (actions.length) {
    const row = el("div", { class: "toast-actions" });
    for (const { label, run, ariaLabel } of actions) {
      const button = el("button", { type: "button", class: "btn small", text: label, "aria-label": ariaLabel });
      button.addEventListener("click", () => {
        close();
        run();
      });
      row.append(button);
    }
    node.append(row);
  }
  toastRoot.append(node);
  while (toastRoot.children.length > 4) toastRoot.firstElementChild.remove();
  setTimeout(close, ms);
  return node;
}

/**
 * Ask before something that cannot be undone: a modal dialog on the page (native confirm() blocks the page
 * and is easy to click through). Resolves true when the person confirms; Escape or Cancel resolve false.
 */
export function confirmAction({ title, text, ok }) {
  const dialog = el("dialog", { class: "confirm card", "aria-labelledby": "confirm-title" });
  const cancelButton = el("button", { type: "button", class: "btn ghost", text: t("common.cancel") });
  const okButton = el("button", { type: "button", class: "btn danger", text: ok });
  dialog.append(el("h2", { id: "confirm-title", text: title }), el("p", { text }), el("div", { class: "row" }, cancelButton, okButton));
  document.body.append(dialog);
  return new Promise((resolve) => {
    const finish = (answer) => {
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancelButton.addEventListener("click", () => finish(false));
    okButton.addEventListener("click", () => finish(true));
    dialog.addEventListener("close", () => finish(false));
    dialog.showModal();
    cancelButton.focus();
  });
}

export function show(node, visible = true) {
  node.hidden = !visible;
}
