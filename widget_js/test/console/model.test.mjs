import { test } from "node:test";
import assert from "node:assert/strict";
import {
  advanceSummary,
  applyRead,
  applySnapshot,
  concernsMe,
  freshest,
  highestSeq,
  isUnread,
  matchQuickReplies,
  mergePages,
  quickReplyQuery,
  rememberLast,
  seedPreviews,
  sortedConvs,
  tabFilters,
} from "../../console/chat/model.js";

const conv = (id, extra = {}) => ({ id, visitor_id: 100 + id, status: "open", assignee_id: null, created_at: "2026-12-01T09:00:00Z", ...extra });
const ids = (list) => list.map((c) => c.id);

test("a chat is unread while its last seq is past what the agents read", () => {
  assert.equal(isUnread({ last_seq: 3, agent_read_seq: 2 }), true);
  assert.equal(isUnread({ last_seq: 3, agent_read_seq: 3 }), false);
  assert.equal(isUnread({}), false);
});

test("the agent hears about queued chats, their own and nobody's; not a colleague's", () => {
  assert.equal(concernsMe(conv(1, { status: "queued", assignee_id: 9 }), 7), true);
  assert.equal(concernsMe(conv(1, { assignee_id: 7 }), 7), true);
  assert.equal(concernsMe(conv(1), 7), true);
  assert.equal(concernsMe(conv(1, { assignee_id: 9 }), 7), false);
});

test("tabs: mine, the queue, all open; latest activity first; my id read when drawn", () => {
  const me = { id: null };
  const tabs = tabFilters(me);
  const convs = new Map(
    [
      conv(1, { assignee_id: 7, last_message_at: "2026-12-01T09:30:00Z" }),
      conv(2, { assignee_id: 7, created_at: "2026-12-01T09:40:00Z" }),
      conv(3, { status: "queued" }),
      conv(4, { status: "closed", assignee_id: 7 }),
      conv(5, { assignee_id: 8, last_message_at: "2026-12-01T09:50:00Z" }),
    ].map((c) => [c.id, c])
  );
  assert.deepEqual(ids(sortedConvs(convs, tabs.mine)), []);
  me.id = 7; // the snapshot tells who I am
  assert.deepEqual(ids(sortedConvs(convs, tabs.mine)), [2, 1]);
  assert.deepEqual(ids(sortedConvs(convs, tabs.queue)), [3]);
  assert.deepEqual(ids(sortedConvs(convs, tabs.all)), [5, 2, 1, 3]);
});

test("a snapshot updates known summaries in place, adds new ones and drops the rest", () => {
  const kept = conv(1, { last_seq: 2 });
  const convs = new Map([
    [1, kept],
    [2, conv(2)],
  ]);
  applySnapshot(convs, [conv(1, { last_seq: 5 }), conv(3)]);
  assert.deepEqual([...convs.keys()], [1, 3]);
  assert.equal(convs.get(1), kept);
  assert.equal(kept.last_seq, 5);
});

test("previews are seeded from each summary's last message, never over a known one", () => {
  const convs = new Map([
    [1, conv(1, { last_seq: 4, last_message: { sender: "visitor", text: "hi" } })],
    [2, conv(2, { last_seq: 9, last_message: { sender: "agent", text: "old" } })],
    [3, conv(3, { last_message: { text: "no sender" } })],
  ]);
  const known = { seq: 10, text: "newer" };
  const lastMsg = new Map([[2, known]]);
  seedPreviews(convs, lastMsg);
  assert.deepEqual(lastMsg.get(1), { sender: "visitor", text: "hi", kind: "text", seq: 4 });
  assert.equal(lastMsg.get(2), known);
  assert.equal(lastMsg.has(3), false);
});

test("the list preview keeps the latest message: an older page of messages does not replace it", () => {
  const lastMsg = new Map();
  rememberLast(lastMsg, 1, [{ seq: 4 }, { seq: 5, text: "five" }]);
  assert.equal(lastMsg.get(1).text, "five");
  rememberLast(lastMsg, 1, [{ seq: 2, text: "two" }]);
  assert.equal(lastMsg.get(1).text, "five");
  rememberLast(lastMsg, 1, [{ seq: 5, text: "five again" }]);
  assert.equal(lastMsg.get(1).text, "five again");
  rememberLast(lastMsg, 1, []);
  assert.equal(lastMsg.get(1).text, "five again");
});

test("resume and read from the highest seq loaded, 0 when none is", () => {
  assert.equal(highestSeq(new Map()), 0);
  assert.equal(highestSeq(new Map([[3, {}], [11, {}], [7, {}]])), 11);
});

test("a message moves its summary on: the seq and the time only grow", () => {
  const c = conv(1, { last_seq: 5 });
  advanceSummary(c, { seq: 6, created_at: "2026-12-01T10:00:00Z" });
  assert.equal(c.last_seq, 6);
  assert.equal(c.last_message_at, "2026-12-01T10:00:00Z");
  advanceSummary(c, { seq: 4, created_at: "2026-12-01T09:00:00Z" }); // a late resend of an old one
  assert.equal(c.last_seq, 6);
  assert.equal(c.last_message_at, "2026-12-01T10:00:00Z");
});

test("read marks only go forward, each side on its own", () => {
  const c = { visitor_read_seq: 4, agent_read_seq: 6 };
  applyRead(c, { seq: 3, agent_seq: 8 });
  assert.deepEqual(c, { visitor_read_seq: 4, agent_read_seq: 8 });
  applyRead(c, { seq: 9, agent_seq: 5 });
  assert.deepEqual(c, { visitor_read_seq: 9, agent_read_seq: 8 });
  const fresh = {};
  applyRead(fresh, { agent_seq: 2, seq: null });
  assert.deepEqual(fresh, { agent_read_seq: 2 });
});

test("a summary older than a `visitor` event keeps its name and returning mark", () => {
  const names = new Map([[101, "Ann"]]);
  const returning = new Set([101]);
  assert.deepEqual(
    [freshest(conv(1, { visitor_name: "#101", visitor_returning: false }), names, returning)].map((c) => [c.visitor_name, c.visitor_returning]),
    [["Ann", true]]
  );
  const named = freshest(conv(1, { visitor_name: "Ann Lee" }), names, new Set());
  assert.equal(named.visitor_name, "Ann Lee");
  assert.equal(named.visitor_returning, undefined);
});

test("pages seen: each once, newest first", () => {
  const a = { url: "https://s.example/a", at: "2026-12-01T10:00:00Z" };
  const b = { url: "https://s.example/b", at: "2026-12-01T10:05:00Z" };
  const c = { url: "https://s.example/a", at: "2026-12-01T09:00:00Z" };
  assert.deepEqual(mergePages([b, a], [a, c]), [b, a, c]);
});

test("a quick reply query is a '/word' right before the caret, with nothing selected", () => {
  assert.deepEqual(quickReplyQuery("hello /Th", 9, 9), { q: "th", start: 6, end: 9 });
  assert.deepEqual(quickReplyQuery("/", 1, 1), { q: "", start: 0, end: 1 });
  assert.deepEqual(quickReplyQuery("/thx and more", 4, 4), { q: "thx", start: 0, end: 4 });
  assert.equal(quickReplyQuery("and/or", 6, 6), null);
  assert.equal(quickReplyQuery("hello /th", 6, 9), null);
  assert.equal(quickReplyQuery("/" + "x".repeat(31), 32, 32), null);
});

test("quick replies: shortcut starts with the query, then contains it, then the text does; 8 at most", () => {
  const replies = [
    { shortcut: "ship", text: "We ship in 2 days" },
    { shortcut: "hi", text: "Hello!" },
    { shortcut: "thanks", text: "Thank you" },
    { shortcut: "mship", text: "Membership shipping is free" },
    { shortcut: "price", text: "Prices include shipping" },
  ];
  assert.deepEqual(matchQuickReplies(replies, "ship").map((r) => r.shortcut), ["ship", "mship", "price"]);
  assert.deepEqual(matchQuickReplies(replies, "zzz"), []);
  assert.deepEqual(matchQuickReplies(replies, "").map((r) => r.shortcut), ["hi", "mship", "price", "ship", "thanks"]);
  const many = Array.from({ length: 12 }, (_, i) => ({ shortcut: "a" + String(i).padStart(2, "0"), text: "" }));
  assert.equal(matchQuickReplies(many, "a").length, 8);
});
