// The open chat's header: who and where, its state, and take / transfer / close.
import { toast } from "../alerts.js";
import { el } from "../dom.js";
import { safeUrl, shortUrl } from "../format.js";
import { t } from "../i18n.js";
import { call } from "../socket.js";
import { applyConversation } from "./conversation.js";
import { agents, groups, me, socket, ui } from "./page.js";
import { current, selfAssigned } from "./state.js";

export function drawHeader() {
  const c = current.conv;
  const h = ui.head;
  h.name.textContent = c.visitor_name;
  h.returning.hidden = !c.visitor_returning;
  h.status.textContent = t("status_" + c.status);
  h.status.className = "tag " + c.status;
  h.page.replaceChildren();
  const url = safeUrl(c.page_url);
  if (url) {
    h.page.append(t("started_on") + " ", el("a", { href: url, target: "_blank", rel: "noopener noreferrer", title: c.page_url, text: shortUrl(c.page_url) }));
  }
  if (c.status === "closed") h.assignee.textContent = c.agent_name ? t("handled_by", { name: c.agent_name }) : "";
  else if (c.status === "queued") h.assignee.textContent = t("waiting_in_queue");
  else if (c.status === "held") h.assignee.textContent = t("status_held"); // the robot answers; taking it stops the robot
  else h.assignee.textContent = c.assignee_id === me.id ? t("assigned_to_you") : c.agent_name ? t("assigned_to", { name: c.agent_name }) : t("unassigned");
  const live = c.status !== "closed" && !current.readonly;
  h.take.hidden = !(live && (c.status === "queued" || c.assignee_id !== me.id));
  h.transfer.hidden = !live;
  h.close.hidden = !live;
}

/** The transfer targets: the other agents (with their status), then the groups. */
export function fillTransfer() {
  const select = ui.transferSelect;
  select.replaceChildren();
  const others = agents.filter((a) => a.id !== current.conv.assignee_id);
  if (others.length) {
    const og = el("optgroup", { label: t("agents") });
    for (const a of others) {
      og.append(el("option", { value: "a:" + a.id, text: `${a.name}${a.id === me.id ? " (" + t("you") + ")" : ""} · ${t("agent_" + (a.status || "offline"))}` }));
    }
    select.append(og);
  }
  if (groups.length) {
    const og = el("optgroup", { label: t("groups") });
    for (const g of groups) og.append(el("option", { value: "g:" + g.id, text: g.name }));
    select.append(og);
  }
  ui.transferGo.disabled = !select.options.length;
}

export function hideTransfer() {
  ui.transfer.hidden = true;
  ui.head.transfer.setAttribute("aria-expanded", "false");
}

export function listenToHeader() {
  ui.head.transfer.addEventListener("click", () => {
    if (!ui.transfer.hidden) return hideTransfer();
    fillTransfer();
    ui.transfer.hidden = false;
    ui.head.transfer.setAttribute("aria-expanded", "true");
    ui.transferSelect.focus();
  });
  ui.transferCancel.addEventListener("click", hideTransfer);
  ui.transferGo.addEventListener("click", async () => {
    const value = ui.transferSelect.value;
    if (!value || !current) return;
    const [kind, id] = value.split(":");
    const payload = { conversation_id: current.id };
    payload[kind === "a" ? "agent_id" : "group_id"] = Number(id);
    if (kind === "a" && Number(id) === me.id) selfAssigned.add(current.id);
    ui.transferGo.disabled = true;
    try {
      const answer = await call(socket, "transfer", payload);
      applyConversation(answer.conversation);
      hideTransfer();
      toast(t("transferred"), "success");
    } catch (e) {
      toast(e.message || t("error_generic"), "error");
    } finally {
      ui.transferGo.disabled = false;
    }
  });

  ui.head.take.addEventListener("click", async () => {
    if (!current) return;
    selfAssigned.add(current.id);
    try {
      const answer = await call(socket, "take", { conversation_id: current.id });
      applyConversation(answer.conversation);
      ui.input.focus();
    } catch (e) {
      toast(e.message || t("error_generic"), "error");
    }
  });

  ui.head.close.addEventListener("click", async () => {
    if (!current) return;
    ui.head.close.disabled = true;
    try {
      const answer = await call(socket, "close", { conversation_id: current.id });
      applyConversation(answer.conversation);
      toast(t("closed_toast"), "success");
    } catch (e) {
      toast(e.message || t("error_generic"), "error");
    } finally {
      ui.head.close.disabled = false;
    }
  });
}
