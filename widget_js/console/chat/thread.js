// The open chat's messages: bubbles in seq order under day lines, "Seen" on the last message
// the visitor read, and the visitor's live draft below them (消息预知).
import { el } from "../dom.js";
import { clockTime, dateOnly, dayOf, fileSize, fullTime, isToday, linkify, localUrl } from "../format.js";
import { t } from "../i18n.js";
import { ui } from "./page.js";
import { PREVIEW_STALE_MS, current, draftFor, pending } from "./state.js";

// Day lines on the shop's calendar (format.js), like every time in the console.
const dayKey = dayOf;
const dayLabel = (iso) => (isToday(iso) ? t("today") : dateOnly(iso));

let lastRenderedSeq = 0;
let lastRenderedDay = "";
const seqNodes = new Map();

function attachmentNode(m) {
  const a = m.attachment;
  const url = localUrl(a.url);
  if (!url) return el("span", { class: "file", text: a.name });
  if (m.kind === "image" || /^image\//.test(a.type || "")) {
    return el("a", { class: "image", href: url, target: "_blank", rel: "noopener" }, el("img", { src: url, alt: a.name, loading: "lazy" }));
  }
  const ext = ((a.name || "").match(/\.([a-z0-9]{1,5})$/i) || [, "file"])[1].toUpperCase();
  return el("a", { class: "file", href: url, target: "_blank", rel: "noopener", download: a.name }, el("span", { class: "file-icon", "aria-hidden": "true", text: ext }), el("span", { class: "file-name", text: a.name }), el("span", { class: "file-size", text: fileSize(a.size) }));
}

/** One message; `sending`, `failed` (why) and `retry` (a function) mark the agent's own, not yet
 *  stored: without a reason it just was not sent. */
export function messageNode(m, { sending = false, failed = null, retry = null } = {}) {
  if (m.sender === "system" || m.kind === "event") {
    return el("div", { class: "msg system", dataset: { seq: m.seq || "" } }, el("span", { text: m.text || "" }), el("time", { text: clockTime(m.created_at), datetime: m.created_at }));
  }
  const bubble = el("div", { class: "bubble" });
  if (m.attachment) bubble.append(attachmentNode(m));
  if (m.text) bubble.append(el("div", { class: "text" }, linkify(m.text)));
  if (m.sender === "robot" && m.options && Array.isArray(m.options.items)) bubble.append(optionChips(m.options));
  const meta = el("div", { class: "meta" });
  if (m.sender === "robot") meta.append(el("span", { class: "robot-label", text: t("robot") }));
  if (m.sender === "note") meta.append(el("span", { class: "note-label", text: t("internal_note") }));
  if ((m.sender === "agent" || m.sender === "note") && m.agent_name) meta.append(el("span", { text: m.agent_name }));
  if (sending) meta.append(el("span", { class: "sending", text: t("sending") }));
  else if (failed || retry) {
    if (failed) meta.append(el("span", { class: "failed", text: failed }));
    if (retry) meta.append(el("button", { type: "button", class: "link retry", text: failed ? t("retry") : t("not_sent_retry"), onclick: retry }));
  }
  else meta.append(el("time", { datetime: m.created_at, title: fullTime(m.created_at), text: clockTime(m.created_at) }));
  const node = el("div", { class: "msg " + m.sender + (sending ? " pending" : "") + (failed || retry ? " failed" : ""), dataset: { seq: m.seq || "" } }, bubble, meta);
  return node;
}

/** The buttons the robot offered the visitor, read-only here; the one they chose is marked. */
function optionChips(options) {
  return el(
    "div",
    { class: "options" },
    options.items.map((o) => el("span", { class: "chip" + (options.chosen != null && o.id === options.chosen ? " chosen" : ""), text: o.label })),
  );
}

export function drawMessages() {
  ui.msgList.replaceChildren();
  ui.msgPending.replaceChildren();
  seqNodes.clear();
  lastRenderedSeq = 0;
  lastRenderedDay = "";
  const seqs = [...current.messages.keys()].sort((a, b) => a - b);
  if (!seqs.length) ui.msgList.append(el("p", { class: "msg-none muted", text: t("no_messages") }));
  for (const seq of seqs) appendNode(current.messages.get(seq));
  for (const p of pending.values()) if (p.conversation_id === current.id) ui.msgPending.append(p.node);
  drawSeen();
}

function appendNode(m) {
  const day = dayKey(m.created_at);
  if (day && day !== lastRenderedDay) {
    ui.msgList.append(el("div", { class: "day", text: dayLabel(m.created_at) }));
    lastRenderedDay = day;
  }
  const node = messageNode(m);
  ui.msgList.append(node);
  seqNodes.set(m.seq, node);
  lastRenderedSeq = m.seq;
}

/** A stored message for the open chat: appended in seq order, never twice. */
export function addMessage(m) {
  if (!current || m.conversation_id !== current.id) return;
  const known = current.messages.has(m.seq);
  current.messages.set(m.seq, m);
  if (known) return;
  const stick = nearBottom();
  ui.msgList.querySelector(".msg-none")?.remove();
  if (m.seq > lastRenderedSeq) appendNode(m);
  else drawMessages();
  drawSeen();
  if (stick || m.sender !== "visitor") scrollToBottom();
}

export function drawSeen() {
  ui.msgList.querySelectorAll(".seen").forEach((n) => n.remove());
  const upTo = current.conv.visitor_read_seq || 0;
  const seqs = [...current.messages.values()].filter((m) => m.sender === "agent" && m.seq <= upTo).map((m) => m.seq);
  if (!seqs.length) return;
  const node = seqNodes.get(Math.max(...seqs));
  node?.querySelector(".meta")?.append(el("span", { class: "seen", text: t("seen") }));
}

function nearBottom() {
  const s = ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}
export function scrollToBottom() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

let draftTimer = null;
/** The visitor's live draft under the messages; it fades when the visitor stops typing. */
export function drawDraft() {
  if (!current) return;
  const text = current.readonly ? "" : draftFor(current.conv);
  const stick = nearBottom();
  ui.draft.hidden = !text;
  ui.draftText.textContent = text;
  clearTimeout(draftTimer);
  if (text) draftTimer = setTimeout(drawDraft, PREVIEW_STALE_MS + 500);
  if (stick) scrollToBottom();
}
