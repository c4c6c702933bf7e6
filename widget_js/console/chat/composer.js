// The reply box: sending (each send keeps its client_id until stored, so a resend is not a
// second message), internal notes, and the agent's typing signal.
import { fullTime } from "../format.js";
import { t } from "../i18n.js";
import { onMessage } from "./conversation.js";
import { me, socket, ui } from "./page.js";
import { isPhone } from "./panes.js";
import { hideQuickReplies, quickReplyKey, updateQuickReplies } from "./quick-replies.js";
import { current, pending, selfAssigned } from "./state.js";
import { messageNode, scrollToBottom } from "./thread.js";

const ACK_MS = 5000;

const uuid = () =>
  crypto.randomUUID ? crypto.randomUUID() : "c-" + Date.now().toString(36) + Math.random().toString(36).slice(2);

/** Writing an internal note (only agents see it) rather than a reply. */
export let noteMode = false;

/** The box for a chat the agent may write in; the closed bar otherwise. */
export function drawComposer() {
  const ro = current.readonly || current.conv.status === "closed";
  ui.composer.hidden = ro;
  ui.readonly.hidden = !ro;
  if (ro) {
    const when = current.conv.closed_at ? fullTime(current.conv.closed_at) : "";
    ui.readonlyText.textContent = when ? t("closed_on", { when }) : t("closed_bar");
  }
}

export function setNote(on) {
  noteMode = on;
  ui.noteToggle.setAttribute("aria-pressed", String(on));
  ui.composer.classList.toggle("note", on);
  // a phone's keyboard has no Shift+Enter to tell about
  ui.input.placeholder = on ? t("placeholder_note") : t(isPhone() ? "placeholder_phone" : "placeholder");
  if (on) stopTyping();
}

function submit() {
  const text = ui.input.value.trim();
  if (!text || !current || current.readonly) return;
  ui.input.value = "";
  autoGrow();
  stopTyping(true);
  send({ text, note: noteMode || undefined });
  ui.input.focus();
}

/** Show `body` as sending at once, then deliver it; `local` fills the preview (an upload's file). */
export function send(body, local = null) {
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

/** Send (again) with the same client_id: the server keeps one copy per client_id. Without an
 *  answer within ACK_MS, or while disconnected, the message says it was not sent and offers a
 *  retry; a reconnect resends what is still pending by itself. */
export function deliver(client_id) {
  const entry = pending.get(client_id);
  if (!entry) return;
  const retry = () => deliver(client_id);
  if (!socket.connected) return redraw(entry, { retry });
  redraw(entry, { sending: true });
  socket.timeout(ACK_MS).emit("send", entry.payload, (err, answer) => {
    if (!pending.has(client_id)) return;
    if (err) return redraw(entry, { retry });
    if (answer && answer.error) return redraw(entry, { failed: answer.message || t("error_generic"), retry });
    if (answer && answer.message) settle(answer.message);
  });
}

function redraw(entry, state) {
  const fresh = messageNode(entry.preview, state);
  entry.node.replaceWith(fresh); // nothing to replace while another chat is open
  entry.node = fresh;
}

function settle(message) {
  const entry = pending.get(message.client_id);
  if (entry) {
    pending.delete(message.client_id);
    entry.node.remove();
  }
  onMessage(message);
}

export function autoGrow() {
  ui.input.style.height = "auto";
  ui.input.style.height = Math.min(ui.input.scrollHeight, 160) + "px";
}

let typingOn = false;
let typingAt = 0;
let typingTimer = null;
/** "Agent is typing" for the visitor: sent at most every 3 s, withdrawn after 4 s of quiet. */
export function typing() {
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
export function stopTyping(silent = false) {
  clearTimeout(typingTimer);
  if (!typingOn) return;
  typingOn = false;
  // after a send the server tells the visitor "not typing" itself
  if (!silent && current) socket.emit("typing", { conversation_id: current.id, typing: false });
}

export function listenToComposer() {
  ui.noteToggle.addEventListener("click", () => {
    setNote(!noteMode);
    ui.input.focus();
  });

  ui.input.addEventListener("input", () => {
    autoGrow();
    updateQuickReplies();
    typing();
  });
  ui.input.addEventListener("click", updateQuickReplies);
  ui.input.addEventListener("blur", () => setTimeout(hideQuickReplies, 150));
  ui.input.addEventListener("keydown", (e) => {
    const composing = e.isComposing || e.keyCode === 229;
    if (quickReplyKey(e, composing)) return;
    if (e.key === "Enter" && !e.shiftKey && !composing) {
      e.preventDefault();
      submit();
    }
  });
  ui.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
}
