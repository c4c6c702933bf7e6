// Quick replies: "/" and a few letters in the reply box list the matching replies; arrows
// choose, Enter or Tab inserts, Escape closes.
import { el } from "../dom.js";
import { t } from "../i18n.js";
import { autoGrow, typing } from "./composer.js";
import { matchQuickReplies, quickReplyQuery } from "./model.js";
import { quickReplies, ui } from "./page.js";

let qrMatches = [];
let qrIndex = 0;
let qrRange = null;

export function updateQuickReplies() {
  const query = quickReplyQuery(ui.input.value, ui.input.selectionStart, ui.input.selectionEnd);
  if (!query || !quickReplies.length) return hideQuickReplies();
  qrMatches = matchQuickReplies(quickReplies, query.q);
  if (!qrMatches.length) {
    qrRange = query;
    ui.qrList.replaceChildren(el("li", { class: "qr-none muted", text: t("qr_none") }));
    ui.qr.hidden = false;
    qrMatches = [];
    return;
  }
  qrRange = query;
  qrIndex = Math.min(qrIndex, qrMatches.length - 1);
  drawQuickReplies();
}

function drawQuickReplies() {
  ui.qrList.replaceChildren(
    ...qrMatches.map((r, i) =>
      el(
        "li",
        {
          id: "qr-" + i,
          role: "option",
          class: "qr-item" + (i === qrIndex ? " active" : ""),
          "aria-selected": String(i === qrIndex),
          onmousedown: (e) => {
            e.preventDefault();
            qrIndex = i;
            insertQuickReply();
          },
        },
        el("span", { class: "qr-short", text: "/" + r.shortcut }),
        el("span", { class: "qr-text", text: r.text }),
        el("span", { class: "qr-scope", text: r.shared ? t("qr_shared") : t("qr_mine") })
      )
    )
  );
  ui.qr.hidden = false;
  ui.input.setAttribute("aria-expanded", "true");
  ui.input.setAttribute("aria-activedescendant", "qr-" + qrIndex);
  ui.qrList.children[qrIndex]?.scrollIntoView({ block: "nearest" });
}

export function hideQuickReplies() {
  ui.qr.hidden = true;
  qrMatches = [];
  qrIndex = 0;
  qrRange = null;
  ui.input.setAttribute("aria-expanded", "false");
  ui.input.removeAttribute("aria-activedescendant");
}

function insertQuickReply() {
  const reply = qrMatches[qrIndex];
  if (!reply || !qrRange) return;
  const v = ui.input.value;
  ui.input.value = v.slice(0, qrRange.start) + reply.text + v.slice(qrRange.end);
  const caret = qrRange.start + reply.text.length;
  ui.input.setSelectionRange(caret, caret);
  hideQuickReplies();
  autoGrow();
  typing();
}

/** A key pressed in the reply box, for the open list. True when the list used it. */
export function quickReplyKey(e, composing) {
  if (!ui.qr.hidden && qrMatches.length && !composing) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      qrIndex = (qrIndex + (e.key === "ArrowDown" ? 1 : qrMatches.length - 1)) % qrMatches.length;
      drawQuickReplies();
      return true;
    }
    if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      insertQuickReply();
      return true;
    }
  }
  if (e.key === "Escape" && !ui.qr.hidden) {
    e.preventDefault();
    hideQuickReplies();
    return true;
  }
  return false;
}
