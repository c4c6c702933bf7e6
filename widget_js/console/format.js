// Times, durations, sizes, URLs and initials as the console shows them, in the page's language.
import { splitLinks } from "../src/links.js";
import { el } from "./dom.js";

/** An http(s) URL safe to put in href, or null (no javascript:, data: …). */
export function safeUrl(url) {
  if (!url || typeof url !== "string") return null;
  try {
    const u = new URL(url, location.href);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch (_e) {
    return null;
  }
}

/** `text` as text nodes, with its http(s) URLs as links that open apart from the console
 *  (built as nodes: the text is never parsed as HTML). */
export function linkify(text) {
  return splitLinks(text).map((part) =>
    typeof part === "string"
      ? document.createTextNode(part)
      : el("a", { href: part.href, target: "_blank", rel: "noopener noreferrer", text: part.text }),
  );
}

/** A same-origin path for attachments served by us (e.g. /w/files/3). */
export function localUrl(url) {
  if (!url || typeof url !== "string") return null;
  try {
    const u = new URL(url, location.href);
    return u.origin === location.origin ? u.pathname + u.search : null;
  } catch (_e) {
    return null;
  }
}

export function shortUrl(url) {
  try {
    const u = new URL(url);
    const path = u.pathname + u.search;
    return u.host + (path === "/" ? "" : path);
  } catch (_e) {
    return url || "";
  }
}

const LANG = document.documentElement.lang || "en";
// The shop's zone (set by its admins), not the browser's: the same message reads the same
// time here, in History and in exports, on every agent's computer.
const ZONE = document.documentElement.dataset.timezone || undefined;
const timeFmt = new Intl.DateTimeFormat(LANG, { hour: "2-digit", minute: "2-digit", timeZone: ZONE });
const dayFmt = new Intl.DateTimeFormat(LANG, { month: "short", day: "numeric", timeZone: ZONE });
const fullFmt = new Intl.DateTimeFormat(LANG, { dateStyle: "medium", timeStyle: "short", timeZone: ZONE });
const dayKey = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }); // YYYY-MM-DD in that zone
const dateFmt = new Intl.DateTimeFormat(LANG, { dateStyle: "medium", timeZone: ZONE });

/** The shop's calendar day of a time, "2026-12-07": what day lines group by. */
export function dayOf(iso) {
  const d = parseTime(iso);
  return d ? dayKey.format(d) : "";
}

export const isToday = (iso) => dayOf(iso) === dayKey.format(new Date());

export function dateOnly(iso) {
  const d = parseTime(iso);
  return d ? dateFmt.format(d) : "";
}

export function parseTime(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "10:32" today, "Nov 21" before. */
export function shortTime(iso) {
  const d = parseTime(iso);
  if (!d) return "";
  return isToday(iso) ? timeFmt.format(d) : dayFmt.format(d);
}

export function clockTime(iso) {
  const d = parseTime(iso);
  return d ? timeFmt.format(d) : "";
}

export function fullTime(iso) {
  const d = parseTime(iso);
  return d ? fullFmt.format(d) : "";
}

/** 75 -> "1:15", 3700 -> "1:01:40". */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function fileSize(bytes) {
  if (!bytes && bytes !== 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The letter on a person's avatar: "Li Wei" -> "L", "#12" -> "1". */
export const initial = (name) => (name || "?").replace(/^#/, "").trim().charAt(0).toUpperCase() || "?";
