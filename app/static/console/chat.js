// The agent's conversations screen: list | open chat | visitor panel, live over /agent.
// Protocol: docs/realtime.md and app/chat/events.py. Visitor data is only ever set as text.
import {
  armAttention,
  call,
  chime,
  clockTime,
  connect,
  duration,
  el,
  fileSize,
  fullTime,
  localUrl,
  notify,
  parseTime,
  readJSON,
  safeUrl,
  shortTime,
  shortUrl,
  sourceName,
  t,
  toast,
} from "./live.js";

const DATA = readJSON("page-data");
const me = Object.assign({ status: "offline" }, DATA.me || {});
let agents = (DATA.agents || []).map((a) => Object.assign({ status: "offline" }, a));
const groups = DATA.groups || [];
const quickReplies = DATA.quick_replies || [];
const ON_SITE_MS = 70000;
const PREVIEW_STALE_MS = 60000;

const $ = (id) => document.getElementById(id);
const ui = {
  conn: $("live-conn"),
  statusSwitch: $("status-switch"),
  sound: $("sound-toggle"),
  tabs: document.querySelectorAll("#conv-tabs [data-tab]"),
  count: { mine: $("count-mine"), queue: $("count-queue"), all: $("count-all") },
  list: $("conv-items"),
  listEmpty: $("conv-empty"),
  incoming: $("incoming"),
  chatEmpty: $("chat-empty"),
  chat: $("chat-main"),
  head: {
    name: $("chat-name"),
    returning: $("chat-returning"),
    status: $("chat-status"),
    page: $("chat-page"),
    assignee: $("chat-assignee"),
    take: $("btn-take"),
    transfer: $("btn-transfer"),
    close: $("btn-close"),
  },
  transfer: $("transfer-pop"),
  transferSelect: $("transfer-target"),
  transferGo: $("transfer-go"),
  transferCancel: $("transfer-cancel"),
  scroller: $("msgs"),
  msgList: $("msg-list"),
  msgPending: $("msg-pending"),
  draft: $("draft"),
  draftText: $("draft-text"),
  composer: $("composer"),
  input: $("composer-input"),
  noteToggle: $("note-toggle"),
  attach: $("attach-btn"),
  file: $("attach-file"),
  send: $("send-btn"),
  qr: $("qr-pop"),
  qrList: $("qr-list"),
  readonly: $("chat-readonly"),
  readonlyText: $("chat-readonly-text"),
  panel: $("visitor-panel"),
};

// ---- state ----------------------------------------------------------------------------
const convs = new Map(); // id -> conversation summary (open and queued)
const lastMsg = new Map(); // conversation id -> last message (for the list preview)
const drafts = new Map(); // conversation id -> {text, at} (消息预知)
const visitorDrafts = new Map(); // visitor id -> {text, at} (before a conversation exists)
const composerDrafts = new Map(); // conversation id -> the agent's unsent text
const visitorNames = new Map(); // visitor id -> name (from the snapshot and `visitor` events)
const returningVisitors = new Set(); // visitor ids marked returning by `visitor` events
const pending = new Map(); // client_id -> {payload, node, conversation_id, sent}
let tab = "mine";
let current = null; // {id, conv, visitor, history, messages: Map(seq -> msg), readonly}
let firstSnapshot = true;
const selfAssigned = new Set(); // chats I took myself: no "assigned to you" alert
let soundOn = localStorage.getItem("huike:sound") !== "off";
const baseTitle = document.title;

const socket = connect(ui.conn);
armAttention();

// ---- helpers ----------------------------------------------------------------------------
const uuid = () =>
  crypto.randomUUID ? crypto.randomUUID() : "c-" + Date.now().toString(36) + Math.random().toString(36).slice(2);

const isUnread = (c) => (c.last_seq || 0) > (c.agent_read_seq || 0);
const concernsMe = (c) => c.status === "queued" || c.assignee_id === me.id || c.assignee_id == null;
const agentName = (id) => (agents.find((a) => a.id === id) || {}).name || "";
const initial = (name) => (name || "?").replace(/^#/, "").trim().charAt(0).toUpperCase() || "?";

function messageSummary(m) {
  if (!m) return "";
  if (m.text) return m.text;
  if (m.attachment) return (m.kind === "image" ? t("image") : t("file")) + ": " + m.attachment.name;
  return "";
}

function sortedConvs(filter) {
  return [...convs.values()]
    .filter(filter)
    .sort((a, b) => (b.last_message_at || b.created_at || "").localeCompare(a.last_message_at || a.created_at || ""));
}

const TABS = {
  mine: (c) => c.status === "open" && c.assignee_id === me.id,
  queue: (c) => c.status === "queued",
  all: (c) => c.status !== "closed",
};

function draftFor(conv) {
  const d = drafts.get(conv.id) || visitorDrafts.get(conv.visitor_id);
  if (!d || !d.text || Date.now() - d.at > PREVIEW_STALE_MS) return "";
  return d.text;
}

// ---- the conversation list --------------------------------------------------------------
let listQueued = false;
function renderList() {
  if (listQueued) return;
  listQueued = true;
  requestAnimationFrame(() => {
    listQueued = false;
    drawList();
    updateTitle();
  });
}

function drawList() {
  for (const name of Object.keys(TABS)) {
    const n = sortedConvs(TABS[name]).length;
    ui.count[name].textContent = n ? String(n) : "";
    ui.count[name].hidden = !n;
  }
  ui.count.queue.classList.toggle("hot", sortedConvs(TABS.queue).length > 0);
  ui.tabs.forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === tab)));
  drawIncoming();
  const rows = sortedConvs(TABS[tab]);
  ui.list.replaceChildren(...rows.map(rowNode));
  ui.listEmpty.hidden = rows.length > 0;
  ui.listEmpty.textContent = t(tab === "queue" ? "empty_queue" : tab === "mine" ? "empty_mine" : "empty_all");
}

/** Visitors typing a first message: no conversation yet, but the agent already sees it. */
function drawIncoming() {
  const chatting = new Set([...convs.values()].map((c) => c.visitor_id));
  const items = [...visitorDrafts.entries()]
    .filter(([vid, d]) => d.text && !chatting.has(vid) && Date.now() - d.at < PREVIEW_STALE_MS)
    .map(([vid, d]) => {
      const name = visitorNames.get(vid) || "#" + vid;
      return el(
        "div",
        { class: "incoming-item" },
        el("span", { class: "avatar", "aria-hidden": "true", text: initial(name) }),
        el("span", { class: "row-body" }, el("span", { class: "row-name", text: name }), el("span", { class: "row-preview drafting" }, el("span", { class: "pen", "aria-hidden": "true", text: "✎ " }), t("typing_short") + " ", el("span", { text: d.text })))
      );
    });
  ui.incoming.hidden = !items.length;
  ui.incoming.replaceChildren(...(items.length ? [el("div", { class: "incoming-head", text: t("incoming") }), ...items] : []));
}

function rowNode(c) {
  const draft = draftFor(c);
  const last = lastMsg.get(c.id);
  const unread = isUnread(c);
  let preview;
  if (draft) {
    preview = el("span", { class: "row-draft" }, el("span", { class: "pen", "aria-hidden": "true", text: "✎ " }), t("typing_short") + " ", el("span", { text: draft }));
  } else if (last) {
    const who = last.sender === "agent" ? t("you_prefix") : last.sender === "note" ? t("note_prefix") : "";
    preview = el("span", {}, who ? el("span", { class: "who", text: who + " " }) : null, messageSummary(last));
  } else {
    preview = el("span", { class: "muted", text: c.page_url ? shortUrl(c.page_url) : "" });
  }
  const assignee = c.status === "queued"
    ? el("span", { class: "tag queued", text: t("status_queued") })
    : el("span", { class: "assignee" + (c.assignee_id === me.id ? " me" : ""), text: c.assignee_id === me.id ? t("assigned_me") : c.agent_name || t("unassigned") });
  const button = el(
    "button",
    {
      type: "button",
      class: "conv-row" + (current && current.id === c.id ? " active" : "") + (unread ? " unread" : ""),
      "aria-current": current && current.id === c.id ? "true" : null,
      dataset: { id: c.id },
      onclick: () => openConversation(c.id),
    },
    el("span", { class: "avatar", "aria-hidden": "true", text: initial(c.visitor_name) }),
    el(
      "span",
      { class: "row-body" },
      el("span", { class: "row-top" }, el("span", { class: "row-name", text: c.visitor_name }), c.visitor_returning ? returningTag() : null, el("time", { class: "row-time", datetime: c.last_message_at || c.created_at, text: shortTime(c.last_message_at || c.created_at) })),
      el("span", { class: "row-preview" + (draft ? " drafting" : "") }, preview),
      el("span", { class: "row-bottom" }, assignee, unread ? el("span", { class: "dot", title: t("unread"), "aria-label": t("unread") }) : null)
    )
  );
  return el("li", {}, button);
}

/** 熟客: came before, or a customer the shop knew before this visit. */
function returningTag() {
  return el("span", { class: "tag returning", title: t("returning_title"), text: t("returning") });
}

function updateTitle() {
  const n = [...convs.values()].filter((c) => c.status !== "closed" && concernsMe(c) && isUnread(c)).length;
  document.title = n ? `(${n}) ${baseTitle}` : baseTitle;
}

ui.tabs.forEach((b) =>
  b.addEventListener("click", () => {
    tab = b.dataset.tab;
    renderList();
  })
);

// ---- opening a conversation -------------------------------------------------------------
let openSeq = 0;
async function openConversation(id, { readonly = false } = {}) {
  const ticket = ++openSeq;
  hideTransfer();
  hideQuickReplies();
  let answer;
  try {
    answer = await call(socket, "open", { conversation_id: id });
  } catch (e) {
    toast(e.message || t("error_generic"), "error");
    return;
  }
  if (ticket !== openSeq) return; // another click won
  const conv = answer.conversation;
  if (!current || current.id !== conv.id) {
    // each chat keeps its own unsent reply
    if (current) {
      stopTyping();
      if (!current.readonly) composerDrafts.set(current.id, ui.input.value);
    }
    ui.input.value = composerDrafts.get(conv.id) || "";
    composerDrafts.delete(conv.id);
    autoGrow();
  }
  current = {
    id: conv.id,
    conv,
    visitor: answer.visitor,
    history: answer.history || [],
    messages: new Map(),
    readonly: readonly || conv.status === "closed",
  };
  if (convs.has(conv.id)) convs.set(conv.id, Object.assign(convs.get(conv.id), conv));
  for (const m of answer.messages || []) current.messages.set(m.seq, m);
  rememberLast(conv.id, answer.messages);
  ui.chatEmpty.hidden = true;
  ui.chat.hidden = false;
  drawHeader();
  drawMessages();
  drawDraft();
  drawComposer();
  loadCustomer(current.visitor);
  drawPanel();
  renderList();
  scrollToBottom();
  markRead();
  if (!current.readonly) ui.input.focus();
  history.replaceState(null, "", "#c" + conv.id);
}

function rememberLast(convId, messages) {
  if (!messages || !messages.length) return;
  const m = messages[messages.length - 1];
  const prev = lastMsg.get(convId);
  if (!prev || (m.seq || 0) >= (prev.seq || 0)) lastMsg.set(convId, m);
}

/** After a reconnect: fetch what the open chat missed. */
async function resumeCurrent() {
  if (!current) return;
  const since = Math.max(0, ...current.messages.keys());
  try {
    const answer = await call(socket, "open", { conversation_id: current.id, since });
    if (!current || current.id !== answer.conversation.id) return;
    current.conv = answer.conversation;
    current.visitor = answer.visitor;
    current.history = answer.history || current.history;
    for (const m of answer.messages || []) addMessage(m);
    drawHeader();
    drawComposer();
    drawPanel();
  } catch (_e) {
    /* the conversation may be gone; keep what we show */
  }
}

// ---- chat header, transfer ---------------------------------------------------------------
function drawHeader() {
  const c = current.conv;
  const h = ui.head;
  h.name.textContent = c.visitor_name;
  h.returning.hidden = !c.visitor_returning;
  h.status.textContent = t("status_" + c.status);
  h.status.className = "tag " + c.status;
  h.page.replaceChildren();
  const url = safeUrl(c.page_url);
  if (url) {
    h.page.append(t("started_on") + " ", el("a", { href: url, target: "_blank", rel: "noopener noreferrer", title: c.page_url, text: shortUrl(c.page_url) }));
  }
  if (c.status === "closed") h.assignee.textContent = c.agent_name ? t("handled_by", { name: c.agent_name }) : "";
  else if (c.status === "queued") h.assignee.textContent = t("waiting_in_queue");
  else h.assignee.textContent = c.assignee_id === me.id ? t("assigned_to_you") : c.agent_name ? t("assigned_to", { name: c.agent_name }) : t("unassigned");
  const live = c.status !== "closed" && !current.readonly;
  h.take.hidden = !(live && (c.status === "queued" || c.assignee_id !== me.id));
  h.transfer.hidden = !live;
  h.close.hidden = !live;
}

function fillTransfer() {
  const select = ui.transferSelect;
  select.replaceChildren();
  const others = agents.filter((a) => a.id !== current.conv.assignee_id);
  if (others.length) {
    const og = el("optgroup", { label: t("agents") });
    for (const a of others) {
      og.append(el("option", { value: "a:" + a.id, text: `${a.name}${a.id === me.id ? " (" + t("you") + ")" : ""} · ${t("agent_" + (a.status || "offline"))}` }));
    }
    select.append(og);
  }
  if (groups.length) {
    const og = el("optgroup", { label: t("groups") });
    for (const g of groups) og.append(el("option", { value: "g:" + g.id, text: g.name }));
    select.append(og);
  }
  ui.transferGo.disabled = !select.options.length;
}

function hideTransfer() {
  ui.transfer.hidden = true;
  ui.head.transfer.setAttribute("aria-expanded", "false");
}

ui.head.transfer.addEventListener("click", () => {
  if (!ui.transfer.hidden) return hideTransfer();
  fillTransfer();
  ui.transfer.hidden = false;
  ui.head.transfer.setAttribute("aria-expanded", "true");
  ui.transferSelect.focus();
});
ui.transferCancel.addEventListener("click", hideTransfer);
ui.transferGo.addEventListener("click", async () => {
  const value = ui.transferSelect.value;
  if (!value || !current) return;
  const [kind, id] = value.split(":");
  const payload = { conversation_id: current.id };
  payload[kind === "a" ? "agent_id" : "group_id"] = Number(id);
  if (kind === "a" && Number(id) === me.id) selfAssigned.add(current.id);
  ui.transferGo.disabled = true;
  try {
    const answer = await call(socket, "transfer", payload);
    applyConversation(answer.conversation);
    hideTransfer();
    toast(t("transferred"), "success");
  } catch (e) {
    toast(e.message || t("error_generic"), "error");
  } finally {
    ui.transferGo.disabled = false;
  }
});

ui.head.take.addEventListener("click", async () => {
  if (!current) return;
  selfAssigned.add(current.id);
  try {
    const answer = await call(socket, "take", { conversation_id: current.id });
    applyConversation(answer.conversation);
    ui.input.focus();
  } catch (e) {
    toast(e.message || t("error_generic"), "error");
  }
});

ui.head.close.addEventListener("click", async () => {
  if (!current) return;
  ui.head.close.disabled = true;
  try {
    const answer = await call(socket, "close", { conversation_id: current.id });
    applyConversation(answer.conversation);
    toast(t("closed_toast"), "success");
  } catch (e) {
    toast(e.message || t("error_generic"), "error");
  } finally {
    ui.head.close.disabled = false;
  }
});

// ---- messages -----------------------------------------------------------------------------
const dayKey = (iso) => {
  const d = parseTime(iso);
  return d ? d.toDateString() : "";
};
const dayLabel = (iso) => {
  const d = parseTime(iso);
  if (!d) return "";
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return t("today");
  return new Intl.DateTimeFormat(document.documentElement.lang || "en", { dateStyle: "medium" }).format(d);
};

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

function messageNode(m, { sending = false, failed = null } = {}) {
  if (m.sender === "system" || m.kind === "event") {
    return el("div", { class: "msg system", dataset: { seq: m.seq || "" } }, el("span", { text: m.text || "" }), el("time", { text: clockTime(m.created_at), datetime: m.created_at }));
  }
  const bubble = el("div", { class: "bubble" });
  if (m.attachment) bubble.append(attachmentNode(m));
  if (m.text) bubble.append(el("div", { class: "text", text: m.text }));
  const meta = el("div", { class: "meta" });
  if (m.sender === "note") meta.append(el("span", { class: "note-label", text: t("internal_note") }));
  if ((m.sender === "agent" || m.sender === "note") && m.agent_name) meta.append(el("span", { text: m.agent_name }));
  if (sending) meta.append(el("span", { class: "sending", text: t("sending") }));
  else if (failed) meta.append(el("span", { class: "failed", text: failed }));
  else meta.append(el("time", { datetime: m.created_at, title: fullTime(m.created_at), text: clockTime(m.created_at) }));
  const node = el("div", { class: "msg " + m.sender + (sending ? " pending" : "") + (failed ? " failed" : ""), dataset: { seq: m.seq || "" } }, bubble, meta);
  return node;
}

function drawMessages() {
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
function addMessage(m) {
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

function drawSeen() {
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
function scrollToBottom() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

// ---- the visitor's live draft (消息预知) -------------------------------------------------------
let draftTimer = null;
function drawDraft() {
  if (!current) return;
  const text = current.readonly ? "" : draftFor(current.conv);
  const stick = nearBottom();
  ui.draft.hidden = !text;
  ui.draftText.textContent = text;
  clearTimeout(draftTimer);
  if (text) draftTimer = setTimeout(drawDraft, PREVIEW_STALE_MS + 500);
  if (stick) scrollToBottom();
}

// ---- composer: send, note, quick replies, files, typing ---------------------------------------
let noteMode = false;

function drawComposer() {
  const ro = current.readonly || current.conv.status === "closed";
  ui.composer.hidden = ro;
  ui.readonly.hidden = !ro;
  if (ro) {
    const when = current.conv.closed_at ? fullTime(current.conv.closed_at) : "";
    ui.readonlyText.textContent = when ? t("closed_on", { when }) : t("closed_bar");
  }
}

function setNote(on) {
  noteMode = on;
  ui.noteToggle.setAttribute("aria-pressed", String(on));
  ui.composer.classList.toggle("note", on);
  ui.input.placeholder = on ? t("placeholder_note") : t("placeholder");
  if (on) stopTyping();
}
ui.noteToggle.addEventListener("click", () => {
  setNote(!noteMode);
  ui.input.focus();
});

function submit() {
  const text = ui.input.value.trim();
  if (!text || !current || current.readonly) return;
  ui.input.value = "";
  autoGrow();
  stopTyping(true);
  send({ text, note: noteMode || undefined });
  ui.input.focus();
}

function send(body, local = null) {
  const client_id = uuid();
  const payload = Object.assign({ conversation_id: current.id, client_id }, body);
  if (!payload.note) selfAssigned.add(current.id); // answering a queued chat takes it
  const preview = Object.assign(
    { sender: payload.note ? "note" : "agent", agent_name: me.name, kind: "text", text: body.text || "", created_at: new Date().toISOString(), conversation_id: current.id },
    local || {}
  );
  const entry = { payload, preview, conversation_id: current.id, node: messageNode(preview, { sending: true }) };
  pending.set(client_id, entry);
  ui.msgPending.append(entry.node);
  scrollToBottom();
  deliver(client_id);
}

function deliver(client_id) {
  const entry = pending.get(client_id);
  if (!entry || !socket.connected) return; // resent on reconnect, with the same client_id
  entry.sent = Date.now();
  socket.emit("send", entry.payload, (answer) => {
    if (!pending.has(client_id)) return;
    if (answer && answer.message) return settle(answer.message);
    if (answer && answer.error) {
      const fresh = messageNode(entry.preview, { failed: answer.message || t("error_generic") });
      fresh.append(el("button", { type: "button", class: "link retry", text: t("retry"), onclick: () => {
        const again = messageNode(entry.preview, { sending: true });
        entry.node.replaceWith(again);
        entry.node = again;
        deliver(client_id);
      } }));
      entry.node.replaceWith(fresh);
      entry.node = fresh;
    }
  });
}

function settle(message) {
  const entry = pending.get(message.client_id);
  if (entry) {
    pending.delete(message.client_id);
    entry.node.remove();
  }
  onMessage(message);
}

// Resend what was never acknowledged (the server stores one copy per client_id).
setInterval(() => {
  for (const [cid, entry] of pending) {
    if (socket.connected && entry.sent && Date.now() - entry.sent > 15000 && !entry.node.classList.contains("failed")) deliver(cid);
  }
}, 5000);

function autoGrow() {
  ui.input.style.height = "auto";
  ui.input.style.height = Math.min(ui.input.scrollHeight, 160) + "px";
}

let typingOn = false;
let typingAt = 0;
let typingTimer = null;
function typing() {
  if (!current || current.readonly || noteMode || !ui.input.value.trim()) return stopTyping();
  const now = Date.now();
  if (!typingOn || now - typingAt > 3000) {
    typingOn = true;
    typingAt = now;
    socket.emit("typing", { conversation_id: current.id, typing: true });
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => stopTyping(), 4000);
}
function stopTyping(silent = false) {
  clearTimeout(typingTimer);
  if (!typingOn) return;
  typingOn = false;
  // after a send the server tells the visitor "not typing" itself
  if (!silent && current) socket.emit("typing", { conversation_id: current.id, typing: false });
}

// quick replies: "/" + letters
let qrMatches = [];
let qrIndex = 0;
let qrRange = null;

function qrQuery() {
  const pos = ui.input.selectionStart;
  if (pos !== ui.input.selectionEnd) return null;
  const before = ui.input.value.slice(0, pos);
  const m = before.match(/(?:^|\s)\/([^\s/]{0,30})$/);
  return m ? { q: m[1].toLowerCase(), start: pos - m[1].length - 1, end: pos } : null;
}

function rank(reply, q) {
  const s = (reply.shortcut || "").toLowerCase();
  const text = (reply.text || "").toLowerCase();
  if (!q) return 3;
  if (s.startsWith(q)) return 0;
  if (s.includes(q)) return 1;
  if (text.includes(q)) return 2;
  return -1;
}

function updateQuickReplies() {
  const query = qrQuery();
  if (!query || !quickReplies.length) return hideQuickReplies();
  qrMatches = quickReplies
    .map((r) => [rank(r, query.q), r])
    .filter(([score]) => score >= 0)
    .sort((a, b) => a[0] - b[0] || a[1].shortcut.localeCompare(b[1].shortcut))
    .map(([, r]) => r)
    .slice(0, 8);
  if (!qrMatches.length) {
    qrRange = query;
    ui.qrList.replaceChildren(el("li", { class: "qr-none muted", text: t("qr_none") }));
    ui.qr.hidden = false;
    qrMatches = [];
    return;
  }
  qrRange = query;
  qrIndex = Math.min(qrIndex, qrMatches.length - 1);
  drawQuickReplies();
}

function drawQuickReplies() {
  ui.qrList.replaceChildren(
    ...qrMatches.map((r, i) =>
      el(
        "li",
        {
          id: "qr-" + i,
          role: "option",
          class: "qr-item" + (i === qrIndex ? " active" : ""),
          "aria-selected": String(i === qrIndex),
          onmousedown: (e) => {
            e.preventDefault();
            qrIndex = i;
            insertQuickReply();
          },
        },
        el("span", { class: "qr-short", text: "/" + r.shortcut }),
        el("span", { class: "qr-text", text: r.text }),
        el("span", { class: "qr-scope", text: r.shared ? t("qr_shared") : t("qr_mine") })
      )
    )
  );
  ui.qr.hidden = false;
  ui.input.setAttribute("aria-expanded", "true");
  ui.input.setAttribute("aria-activedescendant", "qr-" + qrIndex);
  ui.qrList.children[qrIndex]?.scrollIntoView({ block: "nearest" });
}

function hideQuickReplies() {
  ui.qr.hidden = true;
  qrMatches = [];
  qrIndex = 0;
  qrRange = null;
  ui.input.setAttribute("aria-expanded", "false");
  ui.input.removeAttribute("aria-activedescendant");
}

function insertQuickReply() {
  const reply = qrMatches[qrIndex];
  if (!reply || !qrRange) return;
  const v = ui.input.value;
  ui.input.value = v.slice(0, qrRange.start) + reply.text + v.slice(qrRange.end);
  const caret = qrRange.start + reply.text.length;
  ui.input.setSelectionRange(caret, caret);
  hideQuickReplies();
  autoGrow();
  typing();
}

ui.input.addEventListener("input", () => {
  autoGrow();
  updateQuickReplies();
  typing();
});
ui.input.addEventListener("click", updateQuickReplies);
ui.input.addEventListener("blur", () => setTimeout(hideQuickReplies, 150));
ui.input.addEventListener("keydown", (e) => {
  const composing = e.isComposing || e.keyCode === 229;
  if (!ui.qr.hidden && qrMatches.length && !composing) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      qrIndex = (qrIndex + (e.key === "ArrowDown" ? 1 : qrMatches.length - 1)) % qrMatches.length;
      return drawQuickReplies();
    }
    if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      return insertQuickReply();
    }
  }
  if (e.key === "Escape" && !ui.qr.hidden) {
    e.preventDefault();
    return hideQuickReplies();
  }
  if (e.key === "Enter" && !e.shiftKey && !composing) {
    e.preventDefault();
    submit();
  }
});
ui.composer.addEventListener("submit", (e) => {
  e.preventDefault();
  submit();
});

// files: the button, paste, drop
async function upload(file) {
  if (!current || current.readonly) return;
  const conversationId = current.id;
  const image = /^image\//.test(file.type);
  const local = { kind: image ? "image" : "file", text: "", attachment: null };
  const placeholder = messageNode({ sender: noteMode ? "note" : "agent", agent_name: me.name, text: t("uploading", { name: file.name }) }, { sending: true });
  ui.msgPending.append(placeholder);
  scrollToBottom();
  const form = new FormData();
  form.append("file", file);
  try {
    const response = await fetch(DATA.upload_url, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { "X-CSRFToken": DATA.csrf, Accept: "application/json" },
    });
    const answer = await response.json().catch(() => ({}));
    placeholder.remove();
    if (!response.ok || !answer.attachment) {
      toast(answer.message || t("upload_failed"), "error");
      return;
    }
    if (!current || current.id !== conversationId) return;
    local.attachment = answer.attachment;
    send({ attachment_id: answer.attachment.id, note: noteMode || undefined }, local);
  } catch (_e) {
    placeholder.remove();
    toast(t("upload_failed"), "error");
  }
}

ui.attach.addEventListener("click", () => ui.file.click());
ui.file.addEventListener("change", () => {
  [...(ui.file.files || [])].forEach(upload);
  ui.file.value = "";
});
ui.input.addEventListener("paste", (e) => {
  const files = [...(e.clipboardData?.files || [])];
  if (files.length) {
    e.preventDefault();
    files.forEach(upload);
  }
});
ui.scroller.parentElement.addEventListener("dragover", (e) => {
  if (current && !current.readonly && e.dataTransfer?.types?.includes("Files")) e.preventDefault();
});
ui.scroller.parentElement.addEventListener("drop", (e) => {
  if (!current || current.readonly) return;
  const files = [...(e.dataTransfer?.files || [])];
  if (files.length) {
    e.preventDefault();
    files.forEach(upload);
  }
});

// ---- read receipts ------------------------------------------------------------------------
function markRead() {
  if (!current || current.readonly || document.hidden || !socket.connected) return;
  const seq = Math.max(0, ...current.messages.keys());
  const conv = convs.get(current.id) || current.conv;
  if (seq > (conv.agent_read_seq || 0)) {
    conv.agent_read_seq = seq;
    current.conv.agent_read_seq = seq;
    socket.emit("read", { conversation_id: current.id, seq });
    renderList();
  }
}
document.addEventListener("visibilitychange", () => {
  markRead();
  renderList();
});
window.addEventListener("focus", markRead);

// ---- the visitor panel -------------------------------------------------------------------
function fact(label, value) {
  if (value == null || value === "") return [];
  return [el("dt", { text: label }), el("dd", {}, value)];
}

function timeOnSite(v) {
  const start = parseTime(v.visit_started_at);
  if (!start) return "";
  const seen = parseTime(v.last_seen_at);
  const onSite = seen && Date.now() - seen.getTime() < ON_SITE_MS;
  const end = onSite ? Date.now() : seen ? seen.getTime() : Date.now();
  return duration((end - start.getTime()) / 1000);
}

function pageLink(url, title) {
  const href = safeUrl(url);
  const label = title || shortUrl(url) || "—";
  return href
    ? el("a", { href, target: "_blank", rel: "noopener noreferrer", title: url, text: label })
    : el("span", { text: label });
}

function drawPanel() {
  const v = current && current.visitor;
  if (!v) {
    ui.panel.replaceChildren(el("p", { class: "muted panel-empty", text: t("panel_empty") }));
    return;
  }
  const seen = parseTime(v.last_seen_at);
  const onSite = seen && Date.now() - seen.getTime() < ON_SITE_MS;
  const head = el(
    "div",
    { class: "vp-head" },
    el("span", { class: "avatar big", "aria-hidden": "true", text: initial(v.name) }),
    el("div", {}, el("h2", { text: v.name }), v.returning ? returningTag() : null, el("span", { class: "presence " + (onSite ? "on" : "off"), text: onSite ? t("on_site") : t("left_site") }))
  );
  if (v.id !== customerPanel.visitorId || (v.customer_id ?? null) !== customerPanel.customerId) loadCustomer(v);
  const contact = el("dl", { class: "facts vp-facts" },
    ...fact(t("email"), v.email ? el("a", { href: "mailto:" + v.email, text: v.email }) : null),
    ...fact(t("phone"), v.phone ? el("a", { href: "tel:" + v.phone.replace(/[^\d+]/g, ""), text: v.phone }) : null),
    ...fact(t("current_page"), v.current_url ? el("span", { class: "vp-page" }, pageLink(v.current_url, v.current_title), el("small", { class: "muted", text: shortUrl(v.current_url) })) : null),
    ...fact(t("source"), el("span", {}, sourceName(v.source), v.keyword ? el("span", { class: "keyword", title: t("keyword"), text: v.keyword }) : null)),
    ...fact(t("visits"), String(v.visit_count || 1)),
    ...fact(t("time_on_site"), el("span", { id: "vp-time", text: timeOnSite(v) })),
    ...fact(t("pages_this_visit"), String(v.page_count || 0)),
    ...fact(t("first_seen"), v.first_seen_at ? fullTime(v.first_seen_at) : null)
  );
  const pages = (v.pages || []).slice(0, 12);
  const pagesBox = el("section", { class: "vp-section" }, el("h3", { text: t("pages_seen") }));
  if (pages.length) {
    pagesBox.append(el("ol", { class: "vp-pages" }, ...pages.map((p) => el("li", {}, pageLink(p.url, p.title), el("time", { class: "muted", datetime: p.at, text: clockTime(p.at) })))));
  } else pagesBox.append(el("p", { class: "muted small", text: "—" }));

  const openOne = [...convs.values()].find((c) => c.visitor_id === v.id && c.status !== "closed");
  const past = (current.history || []).filter((c) => c.status === "closed" && (!openOne || c.id !== openOne.id) && (current.readonly || c.id !== current.id));
  const historyBox = el("section", { class: "vp-section" }, el("h3", { text: t("past_conversations") }));
  if (past.length) {
    historyBox.append(
      el("ul", { class: "vp-history" }, ...past.map((c) =>
        el("li", {}, el("button", { type: "button", class: "link-row" + (c.id === current.id ? " active" : ""), "aria-current": c.id === current.id ? "true" : null, onclick: () => openConversation(c.id, { readonly: true }) },
          el("span", { class: "when", text: fullTime(c.created_at) }),
          el("span", { class: "muted" }, c.agent_name || "", c.rating ? el("span", { class: "stars", title: t("rating"), text: " " + "★".repeat(c.rating) + "☆".repeat(5 - c.rating) }) : null)
        ))
      ))
    );
  } else historyBox.append(el("p", { class: "muted small", text: t("no_past") }));

  // a known customer's record lists the chats of all their browsers: no second list then
  const known = customerPanel.node.querySelector('[data-crm="customer"]');
  const parts = [head, customerPanel.node, contact, pagesBox, known ? null : historyBox].filter(Boolean);
  if (current.readonly && convs.size) {
    const back = [...convs.values()].find((c) => c.visitor_id === v.id && c.status !== "closed");
    if (back) parts.push(el("button", { type: "button", class: "button small ghost", text: t("back_to_chat"), onclick: () => openConversation(back.id) }));
  }
  ui.panel.replaceChildren(...parts);
}

// ---- the customer side panel (CRM) ---------------------------------------------------------
// An HTML fragment from the server (app/crm/panel.py, escaped by Jinja): the record's facts with
// the crm module, an upgrade prompt without it. Its node is kept while the visitor stays the same,
// so a note being typed survives the panel's redraws.
const customerPanel = { visitorId: null, customerId: null, ticket: 0, node: el("div", { class: "crm-slot" }) };

async function loadCustomer(v) {
  customerPanel.visitorId = v.id;
  customerPanel.customerId = v.customer_id ?? null;
  const ticket = ++customerPanel.ticket;
  if (customerPanel.node.dataset.visitor !== String(v.id)) customerPanel.node.replaceChildren();
  customerPanel.node.dataset.visitor = v.id;
  try {
    const response = await fetch(DATA.customer_url.replace("/0/", "/" + v.id + "/"), { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(response.status);
    const html = await response.text();
    if (ticket === customerPanel.ticket) showCustomer(html);
  } catch (_e) {
    if (ticket === customerPanel.ticket) customerPanel.node.replaceChildren(el("p", { class: "muted small", text: t("customer_failed") }));
  }
}

function showCustomer(html) {
  const fragment = document.createElement("template");
  fragment.innerHTML = html;
  const root = fragment.content.querySelector("[data-crm]");
  if (root && root.dataset.crm !== "locked") {
    // linked just now from the panel: the visitor's `visitor` event may still be on its way
    customerPanel.customerId = root.dataset.customerId ? Number(root.dataset.customerId) : null;
    if (current && current.visitor && current.visitor.id === customerPanel.visitorId) current.visitor.customer_id = customerPanel.customerId;
  }
  fragment.content.querySelectorAll("time[datetime]").forEach((n) => {
    n.textContent = shortTime(n.getAttribute("datetime"));
    n.title = fullTime(n.getAttribute("datetime"));
  });
  fragment.content.querySelectorAll("a[data-conversation-id]").forEach((a) => {
    const here = current && Number(a.dataset.conversationId) === current.id;
    a.classList.toggle("active", here);
    if (here) a.setAttribute("aria-current", "true");
  });
  fragment.content.querySelectorAll("[data-source]").forEach((n) => (n.textContent = sourceName(n.dataset.source)));
  customerPanel.node.replaceChildren(fragment.content);
  if (current && current.visitor) drawPanel();
}

customerPanel.node.addEventListener("submit", async (e) => {
  const form = e.target.closest("form[data-panel-form]");
  if (!form) return;
  e.preventDefault();
  const visitor = current && current.visitor;
  const button = form.querySelector("button");
  if (button) button.disabled = true;
  const ticket = ++customerPanel.ticket;
  try {
    const response = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", headers: { "X-CSRFToken": DATA.csrf, Accept: "text/html" } });
    if (response.status === 402 && visitor) return loadCustomer(visitor); // the plan changed: the prompt
    if (response.status !== 200 && response.status !== 400) throw new Error(response.status);
    const html = await response.text();
    if (ticket === customerPanel.ticket) showCustomer(html);
  } catch (_e) {
    if (button) button.disabled = false;
    toast(t("error_generic"), "error");
  }
});

customerPanel.node.addEventListener("click", (e) => {
  const link = e.target.closest("a[data-conversation-id]");
  if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  openConversation(Number(link.dataset.conversationId), { readonly: link.dataset.status === "closed" });
});

setInterval(() => {
  const node = document.getElementById("vp-time");
  if (node && current && current.visitor) node.textContent = timeOnSite(current.visitor);
}, 1000);

// ---- agent status --------------------------------------------------------------------------
function drawStatus() {
  ui.statusSwitch.querySelectorAll("[data-status]").forEach((b) => {
    b.setAttribute("aria-checked", String(b.dataset.status === me.status));
  });
  ui.statusSwitch.dataset.status = me.status;
}
ui.statusSwitch.querySelectorAll("[data-status]").forEach((b) =>
  b.addEventListener("click", async () => {
    const wanted = b.dataset.status;
    try {
      const answer = await call(socket, "status", { status: wanted });
      me.status = answer.status;
      drawStatus();
    } catch (e) {
      toast(e.message || t("error_generic"), "error");
    }
  })
);

function drawSound() {
  ui.sound.setAttribute("aria-pressed", String(soundOn));
  ui.sound.textContent = soundOn ? t("sound_on") : t("sound_off");
}
ui.sound.addEventListener("click", () => {
  soundOn = !soundOn;
  localStorage.setItem("huike:sound", soundOn ? "on" : "off");
  drawSound();
  if (soundOn) chime();
});

function attention(kind, title, body, convId) {
  if (soundOn) chime(kind);
  notify(title, body, () => openConversation(convId), "huike-conv-" + convId);
}

// ---- socket events -------------------------------------------------------------------------
socket.on("snapshot", (snap) => {
  Object.assign(me, snap.me || {});
  if (Array.isArray(snap.agents)) agents = snap.agents;
  const seen = new Set();
  for (const c of snap.conversations || []) {
    seen.add(c.id);
    convs.set(c.id, Object.assign(convs.get(c.id) || {}, c));
  }
  for (const id of [...convs.keys()]) if (!seen.has(id)) convs.delete(id);
  for (const v of snap.visitors || []) visitorNames.set(v.id, v.name);
  drawStatus();
  renderList();
  if (firstSnapshot) {
    firstSnapshot = false;
    const wanted = Number((location.hash.match(/^#c(\d+)$/) || [])[1]);
    if (wanted) openConversation(wanted);
    else {
      const mine = sortedConvs(TABS.mine);
      if (!mine.length && sortedConvs(TABS.queue).length) tab = "queue";
      renderList();
    }
  } else {
    resumeCurrent();
  }
  for (const cid of pending.keys()) deliver(cid);
  fetchPreviews();
});

/** Each summary carries its newest visible message: seed the list's previews from it. */
function fetchPreviews() {
  for (const c of convs.values()) {
    const last = c.last_message;
    if (last && last.sender && !lastMsg.has(c.id)) {
      lastMsg.set(c.id, { sender: last.sender, text: last.text, kind: "text", seq: c.last_seq });
    }
  }
  renderList();
}

function onMessage(m) {
  if (m.client_id && pending.has(m.client_id)) {
    const entry = pending.get(m.client_id);
    pending.delete(m.client_id);
    entry.node.remove();
  }
  const conv = convs.get(m.conversation_id);
  if (conv) {
    if (m.seq > (conv.last_seq || 0)) conv.last_seq = m.seq;
    if (!conv.last_message_at || (m.created_at || "") > conv.last_message_at) conv.last_message_at = m.created_at;
  }
  const isNewest = !lastMsg.has(m.conversation_id) || m.seq >= (lastMsg.get(m.conversation_id).seq || 0);
  if (isNewest) lastMsg.set(m.conversation_id, m);
  if (m.sender === "visitor") {
    drafts.delete(m.conversation_id);
    if (conv) visitorDrafts.delete(conv.visitor_id);
  }
  if (current && current.id === m.conversation_id) {
    if (m.seq > (current.conv.last_seq || 0)) current.conv.last_seq = m.seq;
    addMessage(m);
    if (m.sender === "visitor") drawDraft();
    markRead();
  }
  if (m.sender === "visitor" && conv && concernsMe(conv)) {
    const looking = current && current.id === conv.id && !document.hidden;
    if (!looking) attention("message", t("notif_message", { name: conv.visitor_name }), messageSummary(m), conv.id);
  }
  renderList();
}
socket.on("message", onMessage);

/** A chat summary computed a moment before a `visitor` event (the visitor identified as they
 *  wrote) must not undo it: a name only ever replaces the "#id" label, the mark only turns on. */
function freshest(c) {
  const name = visitorNames.get(c.visitor_id);
  if (name && /^#\d+$/.test(c.visitor_name || "")) c.visitor_name = name;
  if (returningVisitors.has(c.visitor_id)) c.visitor_returning = true;
  return c;
}

function applyConversation(c) {
  freshest(c);
  const known = convs.get(c.id);
  if (c.status === "closed") convs.delete(c.id);
  else convs.set(c.id, Object.assign(known || {}, c));
  if (current && current.id === c.id) {
    current.conv = Object.assign(current.conv, c);
    if (c.status === "closed") {
      current.readonly = true;
      stopTyping(true);
      hideTransfer();
      hideQuickReplies();
    }
    drawHeader();
    drawComposer();
    drawDraft();
    drawPanel();
  }
  renderList();
  return known;
}

socket.on("conversation", (c) => {
  const before = convs.get(c.id);
  const assigneeBefore = before ? before.assignee_id : undefined;
  applyConversation(c);
  if (!before && c.status !== "closed" && concernsMe(c)) {
    attention("conversation", t("notif_new", { name: c.visitor_name }), messageSummary(lastMsg.get(c.id)), c.id);
    if (c.assignee_id === me.id && !current) openConversation(c.id);
  } else if (before && c.status === "open" && c.assignee_id === me.id && assigneeBefore !== me.id && !selfAssigned.has(c.id)) {
    // transferred to me, or taken from the queue for me
    if (!current || current.id !== c.id) attention("conversation", t("assigned_toast", { name: c.visitor_name }), "", c.id);
    toast(t("assigned_toast", { name: c.visitor_name }), "info");
    if (!current) openConversation(c.id);
  }
});

socket.on("preview", (p) => {
  const entry = { text: typeof p.text === "string" ? p.text : "", at: Date.now() };
  if (p.conversation_id != null) drafts.set(p.conversation_id, entry);
  if (p.visitor_id != null) visitorDrafts.set(p.visitor_id, entry);
  if (current && (current.id === p.conversation_id || (current.visitor && current.visitor.id === p.visitor_id))) drawDraft();
  renderList();
});

// The visitor's typing state: the server only relays drafts (see `preview`); keep this for
// the documented `typing` event.
socket.on("typing", (p) => {
  if (!p || p.typing || p.conversation_id == null) return;
  drafts.delete(p.conversation_id);
  if (current && current.id === p.conversation_id) drawDraft();
  renderList();
});

socket.on("read", (p) => {
  const conv = convs.get(p.conversation_id);
  const targets = [conv, current && current.id === p.conversation_id ? current.conv : null].filter(Boolean);
  for (const c of targets) {
    if (p.seq != null) c.visitor_read_seq = Math.max(c.visitor_read_seq || 0, p.seq);
    if (p.agent_seq != null) c.agent_read_seq = Math.max(c.agent_read_seq || 0, p.agent_seq);
  }
  if (current && current.id === p.conversation_id) drawSeen();
  renderList();
});

socket.on("visitor", (v) => {
  if (v.name) visitorNames.set(v.id, v.name);
  if (v.returning) returningVisitors.add(v.id);
  for (const c of convs.values()) {
    if (c.visitor_id !== v.id) continue;
    if (v.name) c.visitor_name = v.name;
    if (v.returning != null) c.visitor_returning = v.returning;
  }
  if (current && current.visitor && current.visitor.id === v.id) {
    const pages = v.pages && v.pages.length ? mergePages(v.pages, current.visitor.pages || []) : current.visitor.pages;
    current.visitor = Object.assign({}, current.visitor, v, { pages });
    current.conv.visitor_name = v.name || current.conv.visitor_name;
    if (v.returning != null) current.conv.visitor_returning = v.returning;
    drawPanel();
    drawHeader();
  }
  renderList();
});

function mergePages(fresh, old) {
  const key = (p) => p.url + "|" + p.at;
  const seen = new Set();
  return [...fresh, ...old]
    .filter((p) => (seen.has(key(p)) ? false : seen.add(key(p))))
    .sort((a, b) => (b.at || "").localeCompare(a.at || ""));
}

socket.on("agent", (a) => {
  const known = agents.find((x) => x.id === a.id);
  if (known) Object.assign(known, a);
  else if (a.name) agents.push(a);
  if (a.id === me.id && a.status) {
    me.status = a.status;
    drawStatus();
  }
  if (!ui.transfer.hidden) fillTransfer();
});

socket.on("left_message", (m) => {
  toast(m && m.name ? t("left_message_from", { name: m.name }) : t("left_message"), "info", DATA.inbox_url ? { href: DATA.inbox_url, text: t("open_inbox") } : null);
  if (soundOn) chime();
});

socket.on("connect", () => {
  markRead();
});

// ---- start -----------------------------------------------------------------------------------
drawStatus();
drawSound();
setNote(false);
renderList();
// stale drafts fade from the list by themselves
setInterval(renderList, 15000);
