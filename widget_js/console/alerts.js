// Getting the agent's attention: toasts, a chime, browser notifications.
import { el } from "./dom.js";
import { t } from "./i18n.js";

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

/** After a reload the browser keeps audio suspended until the person clicks in the page: while
 *  it is (and `wanted()`), `hint` shows; one click on it turns the sound on, and it goes. */
export function offerSound(hint, wanted) {
  const ctx = audioContext();
  if (!ctx || !hint) return () => {};
  const draw = () => {
    hint.hidden = !wanted() || ctx.state === "running";
  };
  ctx.addEventListener("statechange", draw);
  hint.addEventListener("click", () => ctx.resume().then(() => chime(), () => {}).finally(draw));
  draw();
  return draw;
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
