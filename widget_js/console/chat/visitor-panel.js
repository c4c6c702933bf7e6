// The right-hand panel: who the visitor is (with the customer record from the CRM), where they
// came from, the pages they saw, and their earlier conversations.
import { el } from "../dom.js";
import { clockTime, fullTime, initial, shortUrl } from "../format.js";
import { sourceName, t } from "../i18n.js";
import { onSite, pageLink, returningTag, timeOnSite } from "../visit.js";
import { openConversation } from "./conversation.js";
import { customerPanel, loadCustomer } from "./customer-panel.js";
import { ui } from "./page.js";
import { convs, current } from "./state.js";

function fact(label, value) {
  if (value == null || value === "") return [];
  return [el("dt", { text: label }), el("dd", {}, value)];
}

export function drawPanel() {
  const v = current && current.visitor;
  if (!v) {
    ui.panel.replaceChildren(el("p", { class: "muted panel-empty", text: t("panel_empty") }));
    return;
  }
  const here = onSite(v);
  const head = el(
    "div",
    { class: "vp-head" },
    el("span", { class: "avatar big", "aria-hidden": "true", text: initial(v.name) }),
    el("div", {}, el("h2", { text: v.name }), v.returning ? returningTag() : null, el("span", { class: "presence " + (here ? "on" : "off"), text: here ? t("on_site") : t("left_site") }))
  );
  if (v.id !== customerPanel.visitorId || (v.customer_id ?? null) !== customerPanel.customerId) loadCustomer(v);
  const contact = el("dl", { class: "facts vp-facts" },
    ...fact(t("email"), v.email ? el("a", { href: "mailto:" + v.email, text: v.email }) : null),
    ...fact(t("phone"), v.phone ? el("a", { href: "tel:" + v.phone.replace(/[^\d+]/g, ""), text: v.phone }) : null),
    ...fact(t("current_page"), v.current_url ? el("span", { class: "vp-page" }, pageLink(v.current_url, v.current_title), el("small", { class: "muted", text: shortUrl(v.current_url) })) : null),
    ...fact(t("source"), el("span", {}, sourceName(v.source), v.keyword ? el("span", { class: "keyword", title: t("keyword"), text: v.keyword }) : null)),
    ...fact(t("visits"), String(v.visit_count || 1)),
    ...fact(t("time_on_site"), el("span", { id: "vp-time", text: timeOnSite(v) })),
    ...fact(t("pages_this_visit"), String(v.page_count || 0)),
    ...fact(t("first_seen"), v.first_seen_at ? fullTime(v.first_seen_at) : null)
  );
  const pages = (v.pages || []).slice(0, 12);
  const pagesBox = el("section", { class: "vp-section" }, el("h3", { text: t("pages_seen") }));
  if (pages.length) {
    pagesBox.append(el("ol", { class: "vp-pages" }, ...pages.map((p) => el("li", {}, pageLink(p.url, p.title), el("time", { class: "muted", datetime: p.at, text: clockTime(p.at) })))));
  } else pagesBox.append(el("p", { class: "muted small", text: "—" }));

  const openOne = [...convs.values()].find((c) => c.visitor_id === v.id && c.status !== "closed");
  const past = (current.history || []).filter((c) => c.status === "closed" && (!openOne || c.id !== openOne.id) && (current.readonly || c.id !== current.id));
  const historyBox = el("section", { class: "vp-section" }, el("h3", { text: t("past_conversations") }));
  if (past.length) {
    historyBox.append(
      el("ul", { class: "vp-history" }, ...past.map((c) =>
        el("li", {}, el("button", { type: "button", class: "link-row" + (c.id === current.id ? " active" : ""), "aria-current": c.id === current.id ? "true" : null, onclick: () => openConversation(c.id, { readonly: true }) },
          el("span", { class: "when", text: fullTime(c.created_at) }),
          el("span", { class: "muted" }, c.agent_name || "", c.rating ? el("span", { class: "stars", title: t("rating"), text: " " + "★".repeat(c.rating) + "☆".repeat(5 - c.rating) }) : null)
        ))
      ))
    );
  } else historyBox.append(el("p", { class: "muted small", text: t("no_past") }));

  // a known customer's record lists the chats of all their browsers: no second list then
  const known = customerPanel.node.querySelector('[data-crm="customer"]');
  const parts = [head, customerPanel.node, contact, pagesBox, known ? null : historyBox].filter(Boolean);
  if (current.readonly && convs.size) {
    const back = [...convs.values()].find((c) => c.visitor_id === v.id && c.status !== "closed");
    if (back) parts.push(el("button", { type: "button", class: "button small ghost", text: t("back_to_chat"), onclick: () => openConversation(back.id) }));
  }
  ui.panel.replaceChildren(...parts);
}

/** Time on site ticks every second. */
export function tickTimeOnSite() {
  setInterval(() => {
    const node = document.getElementById("vp-time");
    if (node && current && current.visitor) node.textContent = timeOnSite(current.visitor);
  }, 1000);
}
