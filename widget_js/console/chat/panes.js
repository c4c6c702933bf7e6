// The page on a phone and a tablet (chat.css): on a phone one pane at a time, the list or the
// open chat, with Back (the browser's too: a chat opened from the list is a history entry, its
// `#c123` the same as in mails and notifications); below desktop width the visitor panel is a
// sheet the chat header's button opens.
import { openConversation } from "./conversation.js";
import { ui } from "./page.js";
import { current } from "./state.js";

const phone = matchMedia("(max-width: 760px)");
const $ = (id) => document.getElementById(id);
const sheet = { button: $("btn-panel"), close: $("sheet-close"), backdrop: $("sheet-backdrop") };

export function isPhone() {
  return phone.matches;
}

export function showChatPane() {
  document.body.classList.add("pane-chat");
}

function showListPane() {
  document.body.classList.remove("pane-chat");
  closeSheet(false);
}

/** Whether the open chat is on screen (a phone showing the list does not read it). */
export function chatInView() {
  return !phone.matches || document.body.classList.contains("pane-chat");
}

/** Where an opened chat goes in the history: tapped from the phone's list, a new entry (Back
 *  returns to the list); otherwise it replaces the address. */
export function rememberOpen(id) {
  const hash = "#c" + id;
  if (location.hash === hash) return;
  if (phone.matches && !history.state?.chat) history.pushState({ chat: id }, "", hash);
  else history.replaceState(history.state, "", hash);
}

function back() {
  if (history.state?.chat) history.back();
  else {
    history.replaceState(null, "", location.pathname + location.search);
    showListPane();
  }
}

function openSheet() {
  document.body.classList.add("sheet-open");
  sheet.button.setAttribute("aria-expanded", "true");
  sheet.backdrop.hidden = false;
  sheet.close.focus();
}

function closeSheet(restoreFocus = true) {
  if (!document.body.classList.contains("sheet-open")) return;
  document.body.classList.remove("sheet-open");
  sheet.button.setAttribute("aria-expanded", "false");
  sheet.backdrop.hidden = true;
  if (restoreFocus) sheet.button.focus();
}

export function listenToPanes() {
  $("chat-back").addEventListener("click", back);
  window.addEventListener("popstate", () => {
    const id = Number((location.hash.match(/^#c(\d+)$/) || [])[1]);
    if (!id) return showListPane();
    showChatPane();
    if (!current || current.id !== id) openConversation(id);
  });
  sheet.button.addEventListener("click", () => (document.body.classList.contains("sheet-open") ? closeSheet() : openSheet()));
  sheet.close.addEventListener("click", () => closeSheet());
  sheet.backdrop.addEventListener("click", () => closeSheet());
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("sheet-open")) closeSheet();
  });
  ui.panel.addEventListener("click", (e) => {
    // another chat picked in the sheet: show it, not the sheet
    if (e.target.closest("button.link-row, a[data-conversation-id]")) closeSheet(false);
  });
}
