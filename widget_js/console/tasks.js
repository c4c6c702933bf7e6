// Call tasks show up without a reload: when one becomes due the server tells the agent's
// sockets ("task_due", app/calls/tasks.py); the page fetches itself again and swaps in its live
// parts ([data-live-tasks] by id) and the navigation's count. While the agent is filling in a
// form there, it waits and says so instead of pulling the form away.
import { connect } from "./socket.js";

const live = () => [...document.querySelectorAll("[data-live-tasks]")];
document.documentElement.classList.add("js");

document.addEventListener("change", (event) => {
  const select = event.target.closest && event.target.closest("select[data-autosubmit]");
  if (select) select.form.requestSubmit();
});

function busy() {
  return live().some((part) =>
    part.querySelector("details[open]") ||
    [...part.querySelectorAll("textarea, input:not([type=hidden]):not([type=radio])")].some((input) => input.value) ||
    part.contains(document.activeElement) && document.activeElement.matches("input, textarea, select"));
}

let waiting = null;
function offerRefresh() {
  const first = live()[0];
  if (!first || waiting) return;
  waiting = document.createElement("div");
  waiting.className = "flash info live-notice";
  waiting.setAttribute("role", "status");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button small";
  button.textContent = first.dataset.refreshLabel;
  button.addEventListener("click", () => refresh(true));
  waiting.append(document.createTextNode(first.dataset.dueLabel + " "), button);
  first.before(waiting);
}

const shownIds = () => new Set([...document.querySelectorAll("[data-live-tasks] [data-task-id]")].map((el) => el.dataset.taskId));

async function refresh(force = false) {
  if (!force && busy()) return offerRefresh();
  const before = shownIds();
  const answer = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!answer.ok) return;
  const page = new DOMParser().parseFromString(await answer.text(), "text/html");
  for (const part of live()) {
    const fresh = page.getElementById(part.id);
    if (fresh) part.replaceWith(document.importNode(fresh, true));
  }
  for (const count of document.querySelectorAll("[data-nav-count]")) {
    const fresh = page.querySelector(`[data-nav-count="${CSS.escape(count.dataset.navCount)}"]`);
    if (fresh) count.replaceWith(document.importNode(fresh, true));
  }
  if (waiting) waiting.remove();
  waiting = null;
  for (const item of document.querySelectorAll("[data-live-tasks] [data-task-id]")) {
    if (!before.has(item.dataset.taskId)) item.classList.add("fresh");
  }
}

function notify(task) {
  // the browser's own notification, when the agent allowed them (the chat pages ask)
  if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
  try {
    const note = new Notification(task.title || task.phone, { body: task.phone, tag: "task-" + task.id });
    note.onclick = () => { window.focus(); note.close(); };
  } catch { /* some browsers allow notifications only from a service worker */ }
}

if (live().length && typeof io === "function") {
  // the page's one socket, shared with the call card's (socket.js)
  connect().on("task_due", (task) => {
    notify(task || {});
    refresh();
  });
}
