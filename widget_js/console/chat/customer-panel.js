// The customer side panel (CRM): an HTML fragment from the server (app/crm/panel.py, escaped by
// Jinja): the record's facts with the crm module, an upgrade prompt without it. Its node is kept
// while the visitor stays the same, so a note being typed survives the panel's redraws.
import { toast } from "../alerts.js";
import { el } from "../dom.js";
import { fullTime, shortTime } from "../format.js";
import { sourceName, t } from "../i18n.js";
import { openConversation } from "./conversation.js";
import { DATA } from "./page.js";
import { current } from "./state.js";
import { drawPanel } from "./visitor-panel.js";

export const customerPanel = { visitorId: null, customerId: null, ticket: 0, node: el("div", { class: "crm-slot" }) };

export async function loadCustomer(v) {
  customerPanel.visitorId = v.id;
  customerPanel.customerId = v.customer_id ?? null;
  const ticket = ++customerPanel.ticket;
  if (customerPanel.node.dataset.visitor !== String(v.id)) customerPanel.node.replaceChildren();
  customerPanel.node.dataset.visitor = v.id;
  try {
    const response = await fetch(DATA.customer_url.replace("/0/", "/" + v.id + "/"), { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(response.status);
    const html = await response.text();
    if (ticket === customerPanel.ticket) showCustomer(html, true);
  } catch (_e) {
    if (ticket === customerPanel.ticket) customerPanel.node.replaceChildren(el("p", { class: "muted small", text: t("customer_failed") }));
  }
}

function showCustomer(html, keepTyped = false) {
  const fragment = document.createElement("template");
  fragment.innerHTML = html;
  const root = fragment.content.querySelector("[data-crm]");
  if (root && root.dataset.crm !== "locked") {
    // linked just now from the panel: the visitor's `visitor` event may still be on its way
    customerPanel.customerId = root.dataset.customerId ? Number(root.dataset.customerId) : null;
    if (current && current.visitor && current.visitor.id === customerPanel.visitorId) current.visitor.customer_id = customerPanel.customerId;
  }
  fragment.content.querySelectorAll("time[datetime]").forEach((n) => {
    n.textContent = shortTime(n.getAttribute("datetime"));
    n.title = fullTime(n.getAttribute("datetime"));
  });
  fragment.content.querySelectorAll("a[data-conversation-id]").forEach((a) => {
    const here = current && Number(a.dataset.conversationId) === current.id;
    a.classList.toggle("active", here);
    if (here) a.setAttribute("aria-current", "true");
  });
  fragment.content.querySelectorAll("[data-source]").forEach((n) => (n.textContent = sourceName(n.dataset.source)));
  // what the agent was typing in the panel while it reloaded (a phone to link, a note) stays;
  // after a form was sent, the server's answer says what its fields hold
  const typed = keepTyped ? [...customerPanel.node.querySelectorAll("input[name], textarea[name]")].filter((n) => n.type !== "hidden" && n.value) : [];
  typed.forEach((old) => {
    const field = fragment.content.querySelector(`${old.tagName}[name="${CSS.escape(old.name)}"]`);
    if (field && !field.value) field.value = old.value;
  });
  customerPanel.node.replaceChildren(fragment.content);
  if (current && current.visitor) drawPanel();
}

/** A chat closed after the panel was drawn (by a colleague, by the clock) stops showing as open. */
export function showClosed(id) {
  const link = customerPanel.node.querySelector(`a[data-conversation-id="${Number(id)}"]`);
  if (!link) return;
  link.dataset.status = "closed";
  const tag = link.querySelector(".tag.open");
  if (!tag) return;
  const dot = tag.previousSibling;
  if (dot && dot.nodeType === Node.TEXT_NODE) dot.textContent = dot.textContent.replace(/ · $/, "");
  tag.remove();
}

export function listenToCustomerPanel() {
  customerPanel.node.addEventListener("submit", async (e) => {
    const form = e.target.closest("form[data-panel-form]");
    if (!form) return;
    e.preventDefault();
    const visitor = current && current.visitor;
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    const ticket = ++customerPanel.ticket;
    try {
      const response = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", headers: { "X-CSRFToken": DATA.csrf, Accept: "text/html" } });
      if (response.status === 402 && visitor) return loadCustomer(visitor); // the plan changed: the prompt
      if (response.status !== 200 && response.status !== 400) throw new Error(response.status);
      const html = await response.text();
      if (ticket === customerPanel.ticket) showCustomer(html);
    } catch (_e) {
      if (button) button.disabled = false;
      toast(t("error_generic"), "error");
    }
  });

  customerPanel.node.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-conversation-id]");
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    openConversation(Number(link.dataset.conversationId), { readonly: link.dataset.status === "closed" });
  });
}
