// The panel's message list: server messages ordered by (conversation, seq),
// de-duplicated by id and by client_id, local items (pending sends, greetings)
// placed where they belong. Pure: no DOM (unit-tested in test/).

const pos = (it) => it.k; // [conversation_id, seq]

function cmp(a, b) {
  const x = pos(a);
  const y = pos(b);
  return x[0] - y[0] || x[1] - y[1] || a.n - b.n;
}

export class MessageStore {
  constructor() {
    this.items = []; // {m: Message|null, local: {...}|null, k: [conv, seq], n, state}
    this.ids = new Map(); // message id → item
    this.cids = new Map(); // client_id → item
    this.conv = 0; // the current (latest) conversation id
    this.n = 0;
  }

  _settle(it, m) {
    it.m = m;
    it.k = [m.conversation_id || 0, m.seq || 0];
    it.state = "sent";
    this.ids.set(m.id, it);
    if (m.client_id) this.cids.set(m.client_id, it);
    if (m.conversation_id > this.conv) this.conv = m.conversation_id;
    this.items.sort(cmp);
  }

  /**
   * A message from the server (event, ack or history). Returns the item when
   * the message is new to the list (a first sighting, or our own pending
   * message settled by it), or null for a duplicate / an internal note.
   */
  add(m) {
    if (!m || m.sender === "note" || m.id == null) return null;
    const seen = this.ids.get(m.id);
    if (seen) {
      seen.m = m;
      return null;
    }
    const mine = m.client_id && this.cids.get(m.client_id);
    if (mine) {
      if (mine.m) return null; // same client_id already stored under another id: ignore
      this._settle(mine, m);
      return mine;
    }
    const it = { m, local: null, n: ++this.n };
    this.items.push(it);
    this._settle(it, m);
    return it;
  }

  /** A pending outgoing message ({client_id, ...}); it stays last until acknowledged. */
  pending(local) {
    const it = { m: null, local, k: [Infinity, 0], n: ++this.n, state: "sending" };
    if (local.client_id) this.cids.set(local.client_id, it);
    this.items.push(it);
    return it;
  }

  /** A local-only line (a greeting, a card) placed after everything in the list now. */
  note(local) {
    const after = this.items.some((x) => !x.m && x.k[0] === Infinity); // unsent messages are last: go after them
    const it = { m: null, local, k: after ? [Infinity, 0] : [this.conv, this.lastSeq() + 0.5], n: ++this.n, state: "local" };
    this.items.push(it);
    this.items.sort(cmp);
    return it;
  }

  /** The ack for a pending item. Returns an item that became a duplicate (already removed), or null. */
  ack(it, m) {
    const other = this.ids.get(m.id);
    let dropped = null;
    if (other && other !== it) {
      this.remove(other);
      dropped = other;
    }
    this._settle(it, m);
    return dropped;
  }

  remove(it) {
    const i = this.items.indexOf(it);
    if (i >= 0) this.items.splice(i, 1);
    if (it.m && this.ids.get(it.m.id) === it) this.ids.delete(it.m.id);
    const cid = (it.m && it.m.client_id) || (it.local && it.local.client_id);
    if (cid && this.cids.get(cid) === it) this.cids.delete(cid);
  }

  /** Highest seq seen in a conversation (default: the current one); 0 when none. */
  lastSeq(conv = this.conv) {
    let s = 0;
    for (const it of this.items) if (it.m && it.m.conversation_id === conv && it.m.seq > s) s = it.m.seq;
    return s;
  }

  /** Outgoing messages still waiting for their ack, sending or shown not sent (resent on reconnect). */
  unacked() {
    return this.items.filter((it) => !it.m && (it.state === "sending" || it.state === "failed") && it.local && it.local.payload);
  }
}
