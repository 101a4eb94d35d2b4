// The page's words (DOM-free, tested with Node): ``t(key, params)`` looks a key up in the page's message
// catalog (web/i18n/<lang>.json, the same files the server's templates use) and fills its {placeholders}.
// The page's catalog arrives once, before anything is shown: catalog.js reads it from the page and calls
// useCatalog (Node tests call it with a catalog file). How to add a key: see web/language.py's docstring.

let current = { lang: "en", messages: {} };

/** Use ``catalog`` ({lang, messages}) from now on. */
export function useCatalog(catalog) {
  current = { lang: catalog.lang, messages: catalog.messages };
}

/** The page's language ("en", "ko"). */
export function lang() {
  return current.lang;
}

/** Whether the catalog has ``key``. */
export function has(key) {
  return Object.hasOwn(current.messages, key);
}

function pluralForm(count) {
  return new Intl.PluralRules(current.lang).select(count) === "one" ? "one" : "other";
}

/** The text of ``key`` with its ``{placeholders}`` from ``params``; ``params.count`` picks a plural form. */
export function t(key, params = {}) {
  let message = current.messages[key];
  if (message === undefined) {
    console.warn(`noom: no text for "${key}" in the ${current.lang} catalog`);
    return key;
  }
  if (typeof message === "object") message = message[pluralForm(Number(params.count ?? 0))] ?? message.other;
  return message.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

// The server writes its refusals (ErrorReply messages) in English.
const SERVER_LANGUAGE = "en";

/**
 * A sentence from the server (a refusal's {code, message}, or just {message}) in the page's language: in
 * English the server's own sentence (it is the most precise); in another language the catalog's text for its
 * code (``error.<code>``), which says the same in general terms, else the ``fallback`` key's text; the
 * server's sentence when there is nothing better.
 */
export function serverText(error, fallback = null) {
  if (current.lang === SERVER_LANGUAGE && error?.message) return error.message;
  const key = `error.${error?.code}`;
  if (has(key)) return t(key);
  if (fallback) return t(fallback);
  return error?.message || "";
}
