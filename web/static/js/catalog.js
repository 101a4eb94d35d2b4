// The page's message catalog, which the server put in the page (base.html) in the page's language: handed
// to the lookup (i18n.js) before any other module of the page runs, so it is the first import of each page.
import { useCatalog } from "./i18n.js";

const block = document.getElementById("noom-i18n");
if (block) useCatalog(JSON.parse(block.textContent));
