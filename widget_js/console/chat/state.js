// What the page knows of the conversations, shared by its parts.
export const PREVIEW_STALE_MS = 60000;

export const convs = new Map(); // id -> conversation summary (open and queued)
export const lastMsg = new Map(); // conversation id -> last message (for the list preview)
export const drafts = new Map(); // conversation id -> {text, at} (消息预知)
export const visitorDrafts = new Map(); // visitor id -> {text, at} (before a conversation exists)
export const visitorNames = new Map(); // visitor id -> name (from the snapshot and `visitor` events)
export const returningVisitors = new Set(); // visitor ids marked returning by `visitor` events
export const pending = new Map(); // client_id -> {payload, preview, node, conversation_id, sent}
export const selfAssigned = new Set(); // chats I took myself: no "assigned to you" alert

/** The open chat: {id, conv, visitor, history, messages: Map(seq -> msg), readonly}, or null. */
export let current = null;
export function setCurrent(chat) {
  current = chat;
}

/** What the visitor is typing in this chat, while it is fresh; "" otherwise. */
export function draftFor(conv) {
  const d = drafts.get(conv.id) || visitorDrafts.get(conv.visitor_id);
  if (!d || !d.text || Date.now() - d.at > PREVIEW_STALE_MS) return "";
  return d.text;
}
