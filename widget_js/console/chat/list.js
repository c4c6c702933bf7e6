// The conversation list: the tabs (mine, queue, all open) and their counts, visitors writing a
// first message, and the unread count in the page title.
import { el } from "../dom.js";
import { initial, shortTime, shortUrl } from "../format.js";
import { t } from "../i18n.js";
import { returningTag } from "../visit.js";
import { openConversation } from "./conversation.js";
import { concernsMe, isUnread, sortedConvs, tabFilters } from "./model.js";
import { me, ui } from "./page.js";
import { PREVIEW_STALE_MS, convs, current, draftFor, lastMsg, visitorDrafts, visitorNames } from "./state.js";

const TABS = tabFilters(me);
let tab = "mine";
const baseTitle = document.title;

/** A message in one line: its text, else what it carries. */
export function messageSummary(m) {
  if (!m) return "";
  if (m.text) return m.text;
  if (m.attachment) return (m.kind === "image" ? t("image") : t("file")) + ": " + m.attachment.name;
  return "";
}

let listQueued = false;
/** Redraw the list on the next frame (many events may ask within one). */
export function renderList() {
  if (listQueued) return;
  listQueued = true;
  requestAnimationFrame(() => {
    listQueued = false;
    drawList();
    updateTitle();
  });
}

/** On arrival: the queue's tab when nothing is the agent's and someone waits. */
export function showQueueIfNothingMine() {
  const mine = sortedConvs(convs, TABS.mine);
  if (!mine.length && sortedConvs(convs, TABS.queue).length) tab = "queue";
  renderList();
}

function drawList() {
  for (const name of Object.keys(TABS)) {
    const n = sortedConvs(convs, TABS[name]).length;
    ui.count[name].textContent = n ? String(n) : "";
    ui.count[name].hidden = !n;
  }
  ui.count.queue.classList.toggle("hot", sortedConvs(convs, TABS.queue).length > 0);
  ui.tabs.forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === tab)));
  drawIncoming();
  const rows = sortedConvs(convs, TABS[tab]);
  ui.list.replaceChildren(...rows.map(rowNode));
  ui.listEmpty.hidden = rows.length > 0;
  ui.listEmpty.textContent = t(tab === "queue" ? "empty_queue" : tab === "mine" ? "empty_mine" : "empty_all");
}

/** Visitors typing a first message: no conversation yet, but the agent already sees it. */
function drawIncoming() {
  const chatting = new Set([...convs.values()].map((c) => c.visitor_id));
  const items = [...visitorDrafts.entries()]
    .filter(([vid, d]) => d.text && !chatting.has(vid) && Date.now() - d.at < PREVIEW_STALE_MS)
    .map(([vid, d]) => {
      const name = visitorNames.get(vid) || "#" + vid;
      return el(
        "div",
        { class: "incoming-item" },
        el("span", { class: "avatar", "aria-hidden": "true", text: initial(name) }),
        el("span", { class: "row-body" }, el("span", { class: "row-name", text: name }), el("span", { class: "row-preview drafting" }, el("span", { class: "pen", "aria-hidden": "true", text: "✎ " }), t("typing_short") + " ", el("span", { text: d.text })))
      );
    });
  ui.incoming.hidden = !items.length;
  ui.incoming.replaceChildren(...(items.length ? [el("div", { class: "incoming-head", text: t("incoming") }), ...items] : []));
}

function rowNode(c) {
  const draft = draftFor(c);
  const last = lastMsg.get(c.id);
  const unread = isUnread(c);
  let preview;
  if (draft) {
    preview = el("span", { class: "row-draft" }, el("span", { class: "pen", "aria-hidden": "true", text: "✎ " }), t("typing_short") + " ", el("span", { text: draft }));
  } else if (last) {
    const who = last.sender === "agent" ? t("you_prefix") : last.sender === "note" ? t("note_prefix") : "";
    preview = el("span", {}, who ? el("span", { class: "who", text: who + " " }) : null, messageSummary(last));
  } else {
    preview = el("span", { class: "muted", text: c.page_url ? shortUrl(c.page_url) : "" });
  }
  const assignee = c.status === "queued" || c.status === "held"
    ? el("span", { class: "tag queued", text: t("status_" + c.status) })
    : el("span", { class: "assignee" + (c.assignee_id === me.id ? " me" : ""), text: c.assignee_id === me.id ? t("assigned_me") : c.agent_name || t("unassigned") });
  const button = el(
    "button",
    {
      type: "button",
      class: "conv-row" + (current && current.id === c.id ? " active" : "") + (unread ? " unread" : ""),
      "aria-current": current && current.id === c.id ? "true" : null,
      dataset: { id: c.id },
      onclick: () => openConversation(c.id),
    },
    el("span", { class: "avatar", "aria-hidden": "true", text: initial(c.visitor_name) }),
    el(
      "span",
      { class: "row-body" },
      el("span", { class: "row-top" }, el("span", { class: "row-name", text: c.visitor_name }), c.visitor_returning ? returningTag() : null, el("time", { class: "row-time", datetime: c.last_message_at || c.created_at, text: shortTime(c.last_message_at || c.created_at) })),
      el("span", { class: "row-preview" + (draft ? " drafting" : "") }, preview),
      el("span", { class: "row-bottom" }, assignee, unread ? el("span", { class: "dot", title: t("unread"), "aria-label": t("unread") }) : null)
    )
  );
  return el("li", {}, button);
}

function updateTitle() {
  const n = [...convs.values()].filter((c) => c.status !== "closed" && concernsMe(c, me.id) && isUnread(c)).length;
  document.title = n ? `(${n}) ${baseTitle}` : baseTitle;
}

export function listenToTabs() {
  ui.tabs.forEach((b) =>
    b.addEventListener("click", () => {
      tab = b.dataset.tab;
      renderList();
    })
  );
}
