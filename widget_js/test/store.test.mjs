import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageStore } from "../src/store.js";

let ids = 100;
const msg = (conv, seq, extra = {}) => ({
  id: extra.id ?? ++ids,
  conversation_id: conv,
  seq,
  client_id: null,
  sender: "agent",
  kind: "text",
  text: `m${conv}.${seq}`,
  attachment: null,
  created_at: "2026-11-22T10:00:00+00:00",
  ...extra,
});
const texts = (s) => s.items.map((it) => (it.m ? it.m.text : it.local.text));

test("ordered by seq whatever the arrival order", () => {
  const s = new MessageStore();
  for (const q of [3, 1, 5, 2, 4]) s.add(msg(7, q));
  assert.deepEqual(texts(s), ["m7.1", "m7.2", "m7.3", "m7.4", "m7.5"]);
  assert.equal(s.lastSeq(), 5);
  assert.equal(s.conv, 7);
});

test("the same message twice (event + history after a reconnect) is kept once", () => {
  const s = new MessageStore();
  const a = msg(1, 1);
  assert.ok(s.add(a));
  assert.equal(s.add({ ...a }), null);
  s.add(msg(1, 2));
  // history since=0 replays everything
  for (const it of [...s.items]) assert.equal(s.add({ ...it.m }), null);
  assert.equal(s.items.length, 2);
});

test("internal notes never show", () => {
  const s = new MessageStore();
  assert.equal(s.add(msg(1, 1, { sender: "note" })), null);
  assert.equal(s.items.length, 0);
});

test("pending sends stay last, then settle by ack in their seq place", () => {
  const s = new MessageStore();
  s.add(msg(1, 1));
  const p = s.pending({ client_id: "c-1", text: "hi", payload: { client_id: "c-1", text: "hi" } });
  assert.deepEqual(s.unacked(), [p]);
  s.add(msg(1, 2, { text: "agent said" }));
  assert.deepEqual(texts(s), ["m1.1", "agent said", "hi"]);
  s.ack(p, msg(1, 3, { sender: "visitor", client_id: "c-1", text: "hi" }));
  assert.deepEqual(texts(s), ["m1.1", "agent said", "hi"]);
  assert.equal(p.state, "sent");
  assert.deepEqual(s.unacked(), []);
  assert.equal(s.lastSeq(), 3);
});

test("broadcast of our own message before its ack: one item, the ack is a no-op", () => {
  const s = new MessageStore();
  const p = s.pending({ client_id: "c-2", text: "yo", payload: {} });
  const stored = msg(4, 1, { sender: "visitor", client_id: "c-2", text: "yo" });
  assert.equal(s.add(stored), p, "the event settles the pending item");
  assert.equal(s.ack(p, { ...stored }), null);
  assert.equal(s.items.length, 1);
  assert.equal(s.add({ ...stored }), null);
  assert.equal(s.items.length, 1);
});

test("a retry acked after the message arrived under the same id drops the duplicate", () => {
  const s = new MessageStore();
  const p = s.pending({ client_id: "c-3", text: "again", payload: {} });
  const stored = msg(4, 1, { sender: "visitor", client_id: null, text: "again" }); // id known, client_id not echoed
  s.add(stored);
  assert.equal(s.items.length, 2);
  const dropped = s.ack(p, { ...stored, client_id: "c-3" });
  assert.ok(dropped);
  assert.equal(s.items.length, 1);
  assert.equal(s.items[0], p);
});

test("history after reconnect settles an unacked message that the server did store", () => {
  const s = new MessageStore();
  s.add(msg(2, 1));
  const p = s.pending({ client_id: "c-4", text: "lost ack", payload: {} });
  // reconnect: history since 1 returns the stored copy → nothing to resend
  s.add(msg(2, 2, { sender: "visitor", client_id: "c-4", text: "lost ack" }));
  assert.deepEqual(s.unacked(), []);
  assert.equal(s.items.length, 2);
  assert.equal(p.m.seq, 2);
});

test("conversations: the new one after the closed one; lastSeq is per conversation", () => {
  const s = new MessageStore();
  s.add(msg(3, 1));
  s.add(msg(3, 2));
  s.add(msg(9, 1));
  s.add(msg(3, 3)); // late event of the old conversation
  assert.deepEqual(texts(s), ["m3.1", "m3.2", "m3.3", "m9.1"]);
  assert.equal(s.conv, 9);
  assert.equal(s.lastSeq(), 1);
  assert.equal(s.lastSeq(3), 3);
  assert.equal(new MessageStore().lastSeq(), 0);
});

test("a local greeting sits after what is known, before what comes next", () => {
  const s = new MessageStore();
  s.add(msg(5, 1));
  s.add(msg(5, 2));
  s.note({ sender: "agent", text: "Hi, need help?" });
  s.add(msg(5, 3, { sender: "visitor", text: "yes" }));
  assert.deepEqual(texts(s), ["m5.1", "m5.2", "Hi, need help?", "yes"]);
  const fresh = new MessageStore();
  fresh.note({ sender: "agent", text: "Welcome" });
  fresh.add(msg(12, 1, { sender: "visitor", text: "first" }));
  assert.deepEqual(texts(fresh), ["Welcome", "first"]);
});

test("remove forgets the item and its client_id", () => {
  const s = new MessageStore();
  const p = s.pending({ client_id: "c-5", text: "upload", payload: null });
  s.remove(p);
  assert.equal(s.items.length, 0);
  assert.ok(s.add(msg(1, 1, { client_id: "c-5", sender: "visitor" })), "a later message with that id is new");
});

test("a message shown as not sent is still unacknowledged: a reconnect sends it again", () => {
  const s = new MessageStore();
  const p = s.pending({ client_id: "c9", text: "hi", payload: { client_id: "c9", text: "hi" } });
  p.state = "failed";
  assert.deepEqual(s.unacked(), [p]);
  s.ack(p, { id: 9, conversation_id: 1, seq: 1, sender: "visitor", client_id: "c9", text: "hi" });
  assert.deepEqual(s.unacked(), []);
});
