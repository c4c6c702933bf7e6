// What the server sends on /agent (docs/realtime.md, app/chat/events.py), and what each changes.
import { toast } from "../alerts.js";
import { t } from "../i18n.js";
import { deliver } from "./composer.js";
import { applyConversation, markRead, onMessage, openConversation, rememberWhereWeWere, resumeCurrent } from "./conversation.js";
import { showClosed } from "./customer-panel.js";
import { drawHeader, fillTransfer } from "./header.js";
import { messageSummary, renderList, showQueueIfNothingMine } from "./list.js";
import { applyRead, applySnapshot, concernsMe, mergePages, seedPreviews } from "./model.js";
import { DATA, agents, me, setAgents, socket, ui } from "./page.js";
import { attention, chimeIfWanted, drawStatus } from "./presence.js";
import { convs, current, drafts, lastMsg, pending, returningVisitors, selfAssigned, visitorDrafts, visitorNames } from "./state.js";
import { drawDraft, drawSeen } from "./thread.js";
import { drawPanel } from "./visitor-panel.js";

let firstSnapshot = true;
const chatInHash = () => Number((location.hash.match(/^#c(\d+)$/) || [])[1]);

export function listenToServer() {
  socket.on("snapshot", (snap) => {
    Object.assign(me, snap.me || {});
    if (Array.isArray(snap.agents)) setAgents(snap.agents);
    applySnapshot(convs, snap.conversations || []);
    for (const v of snap.visitors || []) visitorNames.set(v.id, v.name);
    drawStatus();
    renderList();
    if (firstSnapshot) {
      firstSnapshot = false;
      const wanted = chatInHash();
      if (wanted) openConversation(wanted);
      else showQueueIfNothingMine();
    } else {
      resumeCurrent();
    }
    for (const cid of pending.keys()) deliver(cid);
    seedPreviews(convs, lastMsg);
    renderList();
  });

  socket.on("message", onMessage);

  socket.on("conversation", (c) => {
    const before = convs.get(c.id);
    const assigneeBefore = before ? before.assignee_id : undefined;
    applyConversation(c);
    if (c.status === "closed") showClosed(c.id);
    if (!before && c.status !== "closed" && concernsMe(c, me.id)) {
      attention("conversation", t("notif_new", { name: c.visitor_name }), messageSummary(lastMsg.get(c.id)), c.id);
      if (c.assignee_id === me.id && !current) openConversation(c.id, { quiet: true });
    } else if (before && c.status === "open" && c.assignee_id === me.id && assigneeBefore !== me.id && !selfAssigned.has(c.id)) {
      // transferred to me, or taken from the queue for me
      if (!current || current.id !== c.id) attention("conversation", t("assigned_toast", { name: c.visitor_name }), "", c.id);
      toast(t("assigned_toast", { name: c.visitor_name }), "info");
      if (!current) openConversation(c.id, { quiet: true });
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
    for (const c of targets) applyRead(c, p);
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
    chimeIfWanted();
  });

  socket.on("connect", () => {
    markRead();
  });
  socket.on("disconnect", rememberWhereWeWere);

  // a link to another chat on this very page (a notification's, the home page's): open it
  window.addEventListener("hashchange", () => {
    const wanted = chatInHash();
    if (wanted && (!current || current.id !== wanted)) openConversation(wanted);
  });
}
