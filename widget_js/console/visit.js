// What both live pages (Conversations, Visitors) show of a visitor's visit.
import { el } from "./dom.js";
import { duration, parseTime, safeUrl, shortUrl } from "./format.js";
import { t } from "./i18n.js";

const ON_SITE_MS = 70000;

/** Seen in the last 70 s (the widget pings every 20 s while its page is visible). */
export function onSite(v, now = Date.now()) {
  const seen = parseTime(v.last_seen_at);
  return seen && now - seen.getTime() < ON_SITE_MS;
}

/** How long this visit has lasted: until now while on the site, else until last seen. */
export function timeOnSite(v, now = Date.now()) {
  const start = parseTime(v.visit_started_at);
  if (!start) return "";
  const seen = parseTime(v.last_seen_at);
  const end = onSite(v, now) ? now : seen ? seen.getTime() : now;
  return duration((end - start.getTime()) / 1000);
}

/** A page the visitor saw: a link when its URL is http(s), else its name as text. */
export function pageLink(url, title) {
  const href = safeUrl(url);
  const label = title || shortUrl(url) || "—";
  return href
    ? el("a", { href, target: "_blank", rel: "noopener noreferrer", title: url, text: label })
    : el("span", { text: label });
}

/** 熟客: came before, or a customer the shop knew before this visit. */
export function returningTag() {
  return el("span", { class: "tag returning", title: t("returning_title"), text: t("returning") });
}
