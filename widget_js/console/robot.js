// The robot's suggestions in the open chat (app/robot/suggestions.py): up to three answers of
// the shop's knowledge base for the visitor's last message, above the reply box. A click or
// Alt+1..3 (Tab and Enter belong to quick replies) puts one into the reply box, to edit and
// send as the agent's own. Answers go into the DOM as text only.
import { el, readJSON } from "./dom.js";
import { call } from "./socket.js";
import { autoGrow, typing } from "./chat/composer.js";
import { socket, ui } from "./chat/page.js";
import { current } from "./chat/state.js";

// The suggestions' words: the page has them only when the shop has the robot.
const WORDS = readJSON("robot-i18n");
const on = Object.keys(WORDS).length > 0;
const KEYS = { Digit1: 0, Digit2: 1, Digit3: 2, Numpad1: 0, Numpad2: 1, Numpad3: 2 };

const byChat = new Map(); // conversation id -> {message_id, suggestions: [{entry_id, question, answer, confidence}]}
let box = null;

function draw() {
  const shown = current && !current.readonly ? byChat.get(current.id) : null;
  const list = shown ? shown.suggestions : [];
  box.hidden = !list.length;
  if (!list.length) return box.replaceChildren();
  box.replaceChildren(
    el("div", { class: "robot-suggest-head" }, el("span", { text: WORDS.title }), el("span", { class: "muted", text: WORDS.hint })),
    el(
      "ol",
      { class: "robot-suggest-list" },
      list.map((s, i) =>
        el(
          "li",
          {},
          el(
            "button",
            { type: "button", class: "robot-suggestion", title: WORDS.insert, dataset: { entryId: s.entry_id }, onclick: () => insert(i) },
            el("kbd", { text: "Alt+" + (i + 1) }),
            el("span", { class: "robot-q", text: s.question }),
            el("span", { class: "robot-a", text: s.answer }),
            el("span", { class: "robot-conf", title: WORDS.confidence, text: Math.round(s.confidence * 100) + "%" }),
          ),
        ),
      ),
    ),
  );
}

/** The suggestion's answer into the reply box, where the caret is (a selection is replaced). */
function insert(i) {
  const shown = current && !current.readonly ? byChat.get(current.id) : null;
  const s = shown && shown.suggestions[i];
  if (!s) return;
  const input = ui.input;
  input.focus();
  input.setRangeText(s.answer, input.selectionStart, input.selectionEnd, "end");
  autoGrow();
  typing();
}

function show(answer) {
  if (!answer || !Array.isArray(answer.suggestions)) return;
  byChat.set(answer.conversation_id, answer);
  draw();
}

/** The open chat's suggestions, asked for when it is opened or the page comes back. */
export async function askSuggestions() {
  if (!on || !current) return;
  const id = current.id;
  draw();
  try {
    const answer = await call(socket, "robot_suggestions", { conversation_id: id });
    show(answer);
  } catch (_e) {
    /* no suggestions is what the agent had before the robot */
  }
}

export function listenForSuggestions() {
  if (!on) return;
  box = el("div", { class: "robot-suggest", id: "robot-suggest", hidden: true, "aria-label": WORDS.title });
  ui.composer.before(box);
  socket.on("robot_suggestions", show);
  socket.on("conversation", () => draw()); // a chat closed: nothing to insert into
  // a newer message settles them: an answer was sent, or the visitor's next has its own
  socket.on("message", (m) => {
    const shown = byChat.get(m.conversation_id);
    if (shown && m.sender !== "note" && m.id !== shown.message_id) {
      byChat.delete(m.conversation_id);
      draw();
    }
  });
  document.addEventListener("keydown", (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey || !(e.code in KEYS) || box.hidden) return;
    e.preventDefault();
    insert(KEYS[e.code]);
  });
}
