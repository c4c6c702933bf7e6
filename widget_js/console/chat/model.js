// The bookkeeping of the Conversations page, free of the DOM: which chats a tab lists, how
// summaries, seqs and read marks move, quick reply matching (tests: widget_js/test/console/).

export const isUnread = (c) => (c.last_seq || 0) > (c.agent_read_seq || 0);

/** Chats the agent is alerted about: queued, theirs, or nobody's. */
export const concernsMe = (c, meId) => c.status === "queued" || c.assignee_id === meId || c.assignee_id == null;

/** The list's tabs. `me.id` is read each time: the snapshot may bring it. */
export function tabFilters(me) {
  return {
    mine: (c) => c.status === "open" && c.assignee_id === me.id,
    queue: (c) => c.status === "queued",
    all: (c) => c.status !== "closed",
  };
}

/** The chats that pass `filter`, latest activity first. */
export function sortedConvs(convs, filter) {
  return [...convs.values()]
    .filter(filter)
    .sort((a, b) => (b.last_message_at || b.created_at || "").localeCompare(a.last_message_at || a.created_at || ""));
}

/** The snapshot is the whole list: summaries are updated in place, chats it lacks are dropped. */
export function applySnapshot(convs, summaries) {
  const seen = new Set();
  for (const c of summaries) {
    seen.add(c.id);
    convs.set(c.id, Object.assign(convs.get(c.id) || {}, c));
  }
  for (const id of [...convs.keys()]) if (!seen.has(id)) convs.delete(id);
}

/** Each summary carries its newest visible message: it seeds the previews not known yet. */
export function seedPreviews(convs, lastMsg) {
  for (const c of convs.values()) {
    const last = c.last_message;
    if (last && last.sender && !lastMsg.has(c.id)) {
      lastMsg.set(c.id, { sender: last.sender, text: last.text, kind: "text", seq: c.last_seq });
    }
  }
}

/** The last of `messages` becomes the chat's preview unless a later one is already known. */
export function rememberLast(lastMsg, convId, messages) {
  if (!messages || !messages.length) return;
  const m = messages[messages.length - 1];
  const prev = lastMsg.get(convId);
  if (!prev || (m.seq || 0) >= (prev.seq || 0)) lastMsg.set(convId, m);
}

/** The highest seq loaded (0 when none): the open chat resumes after it and is read up to it. */
export const highestSeq = (messages) => Math.max(0, ...messages.keys());

/** A new message moves its chat's summary on; neither the seq nor the time goes back. */
export function advanceSummary(conv, m) {
  if (m.seq > (conv.last_seq || 0)) conv.last_seq = m.seq;
  if (!conv.last_message_at || (m.created_at || "") > conv.last_message_at) conv.last_message_at = m.created_at;
}

/** A `read` event: how far the visitor (`seq`) and the agents (`agent_seq`) have read, never back. */
export function applyRead(c, p) {
  if (p.seq != null) c.visitor_read_seq = Math.max(c.visitor_read_seq || 0, p.seq);
  if (p.agent_seq != null) c.agent_read_seq = Math.max(c.agent_read_seq || 0, p.agent_seq);
}

/** A chat summary computed a moment before a `visitor` event (the visitor identified as they
 *  wrote) must not undo it: a name only ever replaces the "#id" label, the mark only turns on. */
export function freshest(c, visitorNames, returningVisitors) {
  const name = visitorNames.get(c.visitor_id);
  if (name && /^#\d+$/.test(c.visitor_name || "")) c.visitor_name = name;
  if (returningVisitors.has(c.visitor_id)) c.visitor_returning = true;
  return c;
}

/** The pages a visitor saw, newest first, each once (fresh ones from a `visitor` event first). */
export function mergePages(fresh, old) {
  const key = (p) => p.url + "|" + p.at;
  const seen = new Set();
  return [...fresh, ...old]
    .filter((p) => (seen.has(key(p)) ? false : seen.add(key(p))))
    .sort((a, b) => (b.at || "").localeCompare(a.at || ""));
}

/** The "/word" typed just before the caret (and no selection): {q, start, end}, or null. */
export function quickReplyQuery(value, selectionStart, selectionEnd) {
  const pos = selectionStart;
  if (pos !== selectionEnd) return null;
  const before = value.slice(0, pos);
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

/** Up to 8 replies for `q`: shortcut starts with it, then contains it, then the text does. */
export function matchQuickReplies(replies, q) {
  return replies
    .map((r) => [rank(r, q), r])
    .filter(([score]) => score >= 0)
    .sort((a, b) => a[0] - b[0] || a[1].shortcut.localeCompare(b[1].shortcut))
    .map(([, r]) => r)
    .slice(0, 8);
}
