// The message catalogs for Node tests: the modules' words come from web/i18n/<lang>.json, which the pages get
// from the server; a test loads one with ``useLanguage("en")`` (the modules speak English by default here).
import { readFileSync } from "node:fs";

import { useCatalog } from "../../web/static/js/i18n.js";

/** The messages of one catalog file. */
export function messages(lang) {
  return JSON.parse(readFileSync(new URL(`../../web/i18n/${lang}.json`, import.meta.url), "utf8"));
}

/** Make the client modules speak ``lang``. */
export function useLanguage(lang) {
  useCatalog({ lang, messages: messages(lang) });
}

useLanguage("en");
