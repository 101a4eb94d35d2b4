// The call's keyboard shortcuts as pure functions of a key press (DOM-free, tested with Node).

/** Single keys for the bar's buttons (the buttons' tooltips name them). */
export const SHORTCUTS = { m: "btn-mic", v: "btn-cam", s: "btn-share", h: "btn-hand", c: "btn-chat" };

/**
 * What a key press does: "escape" (close what is open over the stage), the id of the bar button it
 * presses, or null. No shortcut with a modifier, on auto-repeat, or while typing in a field (``inField``).
 */
export function shortcutFor({ key, ctrlKey, metaKey, altKey, repeat }, inField = false) {
  if (key === "Escape") return "escape";
  if (ctrlKey || metaKey || altKey || repeat || inField) return null;
  return SHORTCUTS[String(key || "").toLowerCase()] || null;
}

/** Which of the things open over the stage Escape closes first: "settings", "chat", "people" or null. */
export function escapeTarget({ settings, chat, people }) {
  if (settings) return "settings";
  if (chat) return "chat";
  if (people) return "people";
  return null;
}
