// The reply box: sending (each send keeps its client_id until stored, so a resend is not a
// second message), internal notes, and the agent's typing signal.
import { el } from "../dom.js";
import { fullTime } from "../format.js";
import { t } from "../i18n.js";
import { onMessage } from "./conversation.js";
import { me, socket, ui } from "./page.js";
import { hideQuickReplies, quickReplyKey, updateQuickReplies } from "./quick-replies.js";
import { current, pending, selfAssigned } from "./state.js";
import { messageNode, scrollToBottom } from "./thread.js";

const RESEND_AFTER_MS = 15000;

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
  ui.input.placeholder = on ? t("placeholder_note") : t("placeholder");
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

export function deliver(client_id) {
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

  // Resend what was never acknowledged (the server stores one copy per client_id).
  setInterval(() => {
    for (const [cid, entry] of pending) {
      if (socket.connected && entry.sent && Date.now() - entry.sent > RESEND_AFTER_MS && !entry.node.classList.contains("failed")) deliver(cid);
    }
  }, 5000);

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
