// "Visitors now on the site": a live table from the /agent snapshot and `visitor` events.
import { chime, toast } from "./alerts.js";
import { el, readJSON } from "./dom.js";
import { duration, parseTime, shortUrl } from "./format.js";
import { sourceName, t } from "./i18n.js";
import { call, connect } from "./socket.js";
import { onSite, pageLink, returningTag } from "./visit.js";

const DATA = readJSON("page-data");
const PREVIEW_STALE_MS = 30000;

const body = document.getElementById("visitors-body");
const table = document.getElementById("visitors-table");
const empty = document.getElementById("visitors-empty");
const count = document.getElementById("visitor-count");

const visitors = new Map(); // id -> visitor summary
const rows = new Map(); // id -> {tr, invite: tr|null, cells}
const chats = new Map(); // visitor id -> open conversation id
const invited = new Map(); // visitor id -> time of our invitation
const drafts = new Map(); // visitor id -> {text, at}

const socket = connect(document.getElementById("live-conn"));

const startedAt = (v) => (parseTime(v.visit_started_at) || parseTime(v.last_seen_at) || new Date()).getTime();

function pageCell(v) {
  return [pageLink(v.current_url, v.current_title), v.current_url ? el("span", { class: "url", text: shortUrl(v.current_url) }) : null];
}

function sourceCell(v) {
  return [el("span", { text: sourceName(v.source) }), v.keyword ? el("span", { class: "keyword", title: t("keyword"), text: v.keyword }) : null];
}

function chatCell(v) {
  const conv = chats.get(v.id);
  if (conv || v.chatting) {
    const tag = el("span", { class: "tag chatting", text: t("chatting") });
    return conv ? el("a", { href: DATA.conversations_url + "#c" + conv, title: t("open_chat") }, tag) : tag;
  }
  if (invited.has(v.id)) return el("span", { class: "tag invited", text: t("invited") });
  return el("span", { class: "tag browsing", text: t("browsing") });
}

function nameCell(v) {
  const d = drafts.get(v.id);
  const draft = d && d.text && Date.now() - d.at < PREVIEW_STALE_MS ? d.text : "";
  return [
    el("span", { class: "v-name" }, el("span", { text: v.name }), v.returning ? returningTag() : null),
    v.email || v.phone ? el("span", { class: "muted small", text: [v.email, v.phone].filter(Boolean).join(" · ") }) : null,
    draft ? el("span", { class: "v-draft" }, t("typing_short") + " ", el("span", { text: draft })) : null,
  ];
}

function fill(row, v) {
  const c = row.cells;
  c.name.replaceChildren(...nameCell(v).filter(Boolean));
  c.page.replaceChildren(...pageCell(v).filter(Boolean));
  c.pages.textContent = String(v.page_count || 0);
  c.source.replaceChildren(...sourceCell(v).filter(Boolean));
  c.visits.textContent = String(v.visit_count || 1);
  c.time.textContent = duration((Date.now() - startedAt(v)) / 1000);
  c.chat.replaceChildren(chatCell(v));
  row.button.hidden = Boolean(chats.get(v.id) || v.chatting);
}

function makeRow(v) {
  const cells = {
    name: el("td"),
    page: el("td", { class: "v-page" }),
    pages: el("td", { class: "num" }),
    source: el("td"),
    visits: el("td", { class: "num" }),
    time: el("td", { class: "time" }),
    chat: el("td"),
  };
  const button = el("button", { type: "button", class: "button small ghost", text: t("invite") });
  const tr = el("tr", { dataset: { visitor: v.id }, class: "fresh" }, ...Object.values(cells), el("td", {}, button));
  const row = { tr, cells, button, invite: null };
  button.addEventListener("click", () => toggleInvite(v.id));
  setTimeout(() => tr.classList.remove("fresh"), 2100);
  return row;
}

function toggleInvite(id) {
  const row = rows.get(id);
  if (!row) return;
  if (row.invite) {
    row.invite.remove();
    row.invite = null;
    return;
  }
  const input = el("input", { type: "text", maxlength: "300", value: t("invite_text"), "aria-label": t("invite_label") });
  const send = el("button", { type: "submit", class: "button small", text: t("send_invite") });
  const cancel = el("button", { type: "button", class: "button small ghost", text: t("cancel"), onclick: () => toggleInvite(id) });
  const form = el("form", { class: "invite-form" }, input, send, cancel);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    send.disabled = true;
    try {
      await call(socket, "invite", { visitor_id: id, text: input.value.trim() });
      invited.set(id, Date.now());
      toggleInvite(id);
      const v = visitors.get(id);
      if (v) fill(rows.get(id), v);
      toast(t("invited"), "success");
    } catch (err) {
      send.disabled = false;
      toast(err.message || t("error_generic"), "error");
    }
  });
  row.invite = el("tr", { class: "invite-row" }, el("td", { colspan: "8" }, form));
  row.tr.after(row.invite);
  input.focus();
  input.select();
}

function removeRow(id) {
  const row = rows.get(id);
  if (row) {
    row.invite?.remove();
    row.tr.remove();
  }
  rows.delete(id);
  visitors.delete(id);
}

function upsert(v) {
  if (!v || v.id == null) return;
  if (!onSite(v)) return removeRow(v.id);
  const merged = Object.assign(visitors.get(v.id) || {}, v);
  visitors.set(v.id, merged);
  let row = rows.get(v.id);
  if (!row) {
    row = makeRow(merged);
    rows.set(v.id, row);
    // newest visit first; existing rows stay where they are
    const next = [...body.children].find((tr) => {
      const other = visitors.get(Number(tr.dataset.visitor));
      return other && other.id !== v.id && startedAt(other) < startedAt(merged);
    });
    if (next) body.insertBefore(row.tr, next);
    else body.append(row.tr);
  }
  fill(row, merged);
}

function summary() {
  const n = visitors.size;
  count.textContent = t("count", { n });
  table.hidden = n === 0;
  empty.hidden = n !== 0;
}

// ---- socket --------------------------------------------------------------------------------
socket.on("snapshot", (snap) => {
  chats.clear();
  for (const c of snap.conversations || []) if (c.status !== "closed") chats.set(c.visitor_id, c.id);
  const fresh = new Set((snap.visitors || []).map((v) => v.id));
  for (const id of [...rows.keys()]) if (!fresh.has(id)) removeRow(id);
  [...(snap.visitors || [])].sort((a, b) => startedAt(b) - startedAt(a)).forEach(upsert);
  summary();
});

socket.on("visitor", (v) => {
  upsert(v);
  summary();
});

socket.on("conversation", (c) => {
  if (c.status === "closed") {
    if (chats.get(c.visitor_id) === c.id) chats.delete(c.visitor_id);
  } else chats.set(c.visitor_id, c.id);
  const v = visitors.get(c.visitor_id);
  if (v) {
    v.chatting = c.status !== "closed";
    fill(rows.get(v.id), v);
  }
});

socket.on("preview", (p) => {
  if (p.visitor_id == null) return;
  drafts.set(p.visitor_id, { text: p.text || "", at: Date.now() });
  const v = visitors.get(p.visitor_id);
  if (v) rows.get(v.id).cells.name.replaceChildren(...nameCell(v).filter(Boolean));
});

socket.on("left_message", (m) => {
  toast(m && m.name ? t("left_message_from", { name: m.name }) : t("left_message"), "info", { href: DATA.inbox_url, text: t("open_inbox") });
  chime();
});

// time on site ticks every second; visitors unseen for 70 s leave the table (checked every 10 s)
setInterval(() => {
  for (const [id, v] of visitors) rows.get(id).cells.time.textContent = duration((Date.now() - startedAt(v)) / 1000);
}, 1000);
setInterval(() => {
  for (const [id, v] of [...visitors]) if (!onSite(v)) removeRow(id);
  summary();
}, 10000);

summary();
