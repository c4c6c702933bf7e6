// The page's strings: the server translates them into the template's #i18n JSON.
import { readJSON } from "./dom.js";

const I18N = readJSON("i18n");

/** The translated string `key`, with %(name)s placeholders filled from `params`. */
export function t(key, params) {
  const s = Object.prototype.hasOwnProperty.call(I18N, key) ? I18N[key] : key;
  if (!params) return s;
  return s.replace(/%\((\w+)\)s/g, (_m, name) => (params[name] == null ? "" : String(params[name])));
}

const SOURCES = ["direct", "referral", "baidu", "google", "bing", "360", "sogou", "shenma", "yahoo", "duckduckgo", "yandex"];
/** Where a visitor came from, in the agent's words; a source the page has no name for, as sent. */
export function sourceName(source) {
  if (!source) return "—";
  return SOURCES.includes(source) ? t("source_" + source) : source;
}
