// The open chat's life: opening one, catching up after a reconnect, and what the server says
// changed (a conversation, a message, how far it was read).
import { toast } from "../alerts.js";
import { t } from "../i18n.js";
import { call } from "../socket.js";
import { autoGrow, drawComposer, stopTyping } from "./composer.js";
import { loadCustomer } from "./customer-panel.js";
import { drawHeader, hideTransfer } from "./header.js";
import { messageSummary, renderList } from "./list.js";
import { advanceSummary, concernsMe, freshest, highestSeq, rememberLast } from "./model.js";
import { me, socket, ui } from "./page.js";
import { chatInView, isPhone, rememberOpen, showChatPane } from "./panes.js";
import { attention } from "./presence.js";
import { hideQuickReplies } from "./quick-replies.js";
import { convs, current, drafts, lastMsg, pending, returningVisitors, setCurrent, visitorDrafts, visitorNames } from "./state.js";
import { addMessage, drawDraft, drawMessages, scrollToBottom } from "./thread.js";
import { drawPanel } from "./visitor-panel.js";
import { askSuggestions } from "../robot.js";

const composerDrafts = new Map(); // conversation id -> the agent's unsent text
let openSeq = 0;

/** Open a chat; `quiet`: one the server assigned, which a phone showing its list keeps there. */
export async function openConversation(id, { readonly = false, quiet = false } = {}) {
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
  setCurrent({
    id: conv.id,
    conv,
    visitor: answer.visitor,
    history: answer.history || [],
    messages: new Map(),
    readonly: readonly || conv.status === "closed",
  });
  if (convs.has(conv.id)) convs.set(conv.id, Object.assign(convs.get(conv.id), conv));
  for (const m of answer.messages || []) current.messages.set(m.seq, m);
  rememberLast(lastMsg, conv.id, answer.messages);
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
  if (!quiet) showChatPane();
  if (chatInView()) rememberOpen(conv.id);
  // on a phone the keyboard would cover the chat the agent came to read
  if (!current.readonly && !isPhone()) ui.input.focus();
  askSuggestions();
}

/** The link broke: the catch-up after the reconnect starts from what the open chat has now.
 *  (Back in the shop's room before its snapshot comes, a message of that moment can arrive
 *  first: it is not where to start from.) */
export function rememberWhereWeWere() {
  if (current && current.resumeFrom == null) current.resumeFrom = highestSeq(current.messages);
}

/** After a reconnect: fetch what the open chat missed. */
export async function resumeCurrent() {
  if (!current) return;
  const since = current.resumeFrom ?? highestSeq(current.messages);
  try {
    const answer = await call(socket, "open", { conversation_id: current.id, since });
    if (!current || current.id !== answer.conversation.id) return;
    current.resumeFrom = null;
    current.conv = answer.conversation;
    current.visitor = answer.visitor;
    current.history = answer.history || current.history;
    for (const m of answer.messages || []) addMessage(m);
    drawHeader();
    drawComposer();
    drawPanel();
    askSuggestions();
  } catch (_e) {
    /* the conversation may be gone; keep what we show */
  }
}

/** A conversation's new state (an event, or the answer to take, transfer, close). */
export function applyConversation(c) {
  freshest(c, visitorNames, returningVisitors);
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
}

/** A stored message: from the server's `message` event, or the answer to our own send. */
export function onMessage(m) {
  if (m.client_id && pending.has(m.client_id)) {
    const entry = pending.get(m.client_id);
    pending.delete(m.client_id);
    entry.node.remove();
  }
  const conv = convs.get(m.conversation_id);
  if (conv) advanceSummary(conv, m);
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
  if (m.sender === "visitor" && conv && concernsMe(conv, me.id)) {
    const looking = current && current.id === conv.id && !document.hidden && chatInView();
    if (!looking) attention("message", t("notif_message", { name: conv.visitor_name }), messageSummary(m), conv.id);
  }
  renderList();
}

/** Tell the server how far the agent has read the open chat (when it is really in view). */
export function markRead() {
  if (!current || current.readonly || document.hidden || !socket.connected || !chatInView()) return;
  const seq = highestSeq(current.messages);
  const conv = convs.get(current.id) || current.conv;
  if (seq > (conv.agent_read_seq || 0)) {
    conv.agent_read_seq = seq;
    current.conv.agent_read_seq = seq;
    socket.emit("read", { conversation_id: current.id, seq });
    renderList();
  }
}

export function listenForReading() {
  document.addEventListener("visibilitychange", () => {
    markRead();
    renderList();
  });
  window.addEventListener("focus", markRead);
}
