// Shared helpers of the live console pages (conversations, visitors).
// Everything user-supplied goes into the DOM as text: `el()` never sets innerHTML.

const I18N = readJSON("i18n");

export function readJSON(id) {
  const node = document.getElementById(id);
  if (!node) return {};
  try {
    return JSON.parse(node.textContent || "{}");
  } catch (_e) {
    return {};
  }
}

/** The translated string `key`, with %(name)s placeholders filled from `params`. */
export function t(key, params) {
  const s = Object.prototype.hasOwnProperty.call(I18N, key) ? I18N[key] : key;
  if (!params) return s;
  return s.replace(/%\((\w+)\)s/g, (_m, name) => (params[name] == null ? "" : String(params[name])));
}

/** Build an element. `attrs.text` sets textContent; `on*` functions become listeners;
 *  string children become text nodes. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

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
const timeFmt = new Intl.DateTimeFormat(LANG, { hour: "2-digit", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(LANG, { month: "short", day: "numeric" });
const fullFmt = new Intl.DateTimeFormat(LANG, { dateStyle: "medium", timeStyle: "short" });

export function parseTime(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "10:32" today, "Nov 21" before. */
export function shortTime(iso) {
  const d = parseTime(iso);
  if (!d) return "";
  const now = new Date();
  return d.toDateString() === now.toDateString() ? timeFmt.format(d) : dayFmt.format(d);
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

const SOURCES = ["direct", "referral", "baidu", "google", "bing", "360", "sogou", "shenma", "yahoo", "duckduckgo", "yandex"];
export function sourceName(source) {
  if (!source) return "—";
  return SOURCES.includes(source) ? t("source_" + source) : source;
}

// ---- toasts ---------------------------------------------------------------------------

let toastBox = null;
export function toast(text, kind = "info", link = null) {
  if (!toastBox) {
    toastBox = el("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastBox);
  }
  const item = el("div", { class: "toast " + kind }, el("span", { text }));
  if (link) item.append(" ", el("a", { href: link.href, text: link.text }));
  const close = el("button", { type: "button", class: "toast-x", "aria-label": t("dismiss"), text: "×" });
  close.addEventListener("click", () => item.remove());
  item.append(close);
  toastBox.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 5000);
}

// ---- sound and browser notifications --------------------------------------------------

let audio = null;
function audioContext() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  if (!audio) audio = new Ctx();
  return audio;
}

/** A soft two-note chime, made with the Web Audio API (no audio files). */
export function chime(kind = "message") {
  const ctx = audioContext();
  if (!ctx) return;
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
  const notes = kind === "conversation" ? [659.25, 880, 1046.5] : [880, 1174.66];
  const start = ctx.currentTime + 0.02;
  notes.forEach((freq, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    const at = start + i * 0.12;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.18, at + 0.015);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.35);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + 0.4);
  });
}

/** On the first click in the page: unlock audio and ask for notification permission. */
export function armAttention() {
  const arm = () => {
    const ctx = audioContext();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
    if ("Notification" in window && Notification.permission === "default") {
      try {
        Notification.requestPermission().catch(() => {});
      } catch (_e) {
        /* old callback-style API: ignore */
      }
    }
  };
  document.addEventListener("pointerdown", arm, { once: true, capture: true });
  document.addEventListener("keydown", arm, { once: true, capture: true });
}

export function notify(title, body, onClick, tag) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const n = new Notification(title, { body: (body || "").slice(0, 140), tag, silent: true });
    n.onclick = () => {
      window.focus();
      n.close();
      if (onClick) onClick();
    };
    setTimeout(() => n.close(), 10000);
  } catch (_e) {
    /* some browsers only allow notifications from a service worker */
  }
}

// ---- the socket ---------------------------------------------------------------------

/** Connect to /agent; the connection state is reflected on `indicator` (an element). */
export function connect(indicator) {
  // eslint-disable-next-line no-undef
  const socket = io("/agent", { transports: ["websocket", "polling"] });
  const show = (state) => {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = t("conn_" + state);
  };
  show("connecting");
  socket.on("connect", () => show("online"));
  socket.on("disconnect", (reason) => {
    show("offline");
    // the server ended it: access was revoked (disabled, logged out, suspended); the page
    // itself says why (the login page, the suspended notice)
    if (reason === "io server disconnect") location.reload();
  });
  socket.io.on("reconnect_attempt", () => show("connecting"));
  socket.on("connect_error", (err) => {
    show("offline");
    const data = err && err.data;
    if (data && data.message) toast(data.message, "error");
  });
  socket.on("error", (e) => {
    if (e && e.message) toast(e.message, "error");
  });
  return socket;
}

/** Emit with an acknowledgement, as a promise (rejects after `ms` without an answer). */
export function call(socket, event, data, ms = 15000) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, data, (err, answer) => {
      if (err) reject({ error: "timeout", message: t("no_answer") });
      else if (answer && answer.error) reject(answer);
      else resolve(answer);
    });
  });
}
