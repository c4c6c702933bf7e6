// The screen pop (来电弹屏) on every console page of a shop with calls: a card top-right for
// each call that rings for this agent (the `call` event on /agent, app/calls/pop.py), with the
// caller's record and web activity under their name (the fragment app/calls/card.py draws).
// Ringing: "I took it" or dismiss; taken: "Open the call"; over: it says so and goes.
// Everything the server sends is set as text; the fragment is HTML escaped by Jinja.
import { armAttention, chime, notify, offerSound } from "./alerts.js";
import { el, readJSON } from "./dom.js";
import { fullTime, shortTime } from "./format.js";
import { call as ask, connect } from "./socket.js";

const DATA = readJSON("calls-data");
let S = {}; // the words, from the first answer of DATA.ringing_url (not in every page)
let ready = null; // that answer
const FINAL = ["ended", "missed", "busy", "failed"];
const GONE_AFTER_MS = 6000; // an ended call's card, and one a colleague took
const STALE_MS = 120000; // a ringing card nobody updated (the server sweeps ringing at 60 s)
const DISMISSED = "huike:calls:dismissed";

function t(key, params) {
  const s = S[key] || key;
  return params ? s.replace(/%\((\w+)\)s/g, (_m, name) => (params[name] == null ? "" : String(params[name]))) : s;
}
const urlFor = (template, id) => template.replace(/\/0(?=\/|$)/, "/" + Number(id));

const stack = el("section", { class: "call-stack", "aria-label": t("calls"), "aria-live": "polite" });
// the browser keeps audio off after a page load until a click: while a call rings, say so
const soundHint = el("button", { type: "button", class: "call-sound", title: t("sound_why"), text: t("sound_hint"), hidden: true });
stack.append(soundHint);
document.body.append(stack);
const cards = new Map(); // call id -> {call, node, parts, customerId, timer}
const soundWanted = () => localStorage.getItem("huike:sound") !== "off" && [...cards.values()].some((e) => e.call.status === "ringing");
const drawSoundHint = offerSound(soundHint, soundWanted);

function dismissed() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(DISMISSED) || "[]"));
  } catch (_e) {
    return new Set();
  }
}

function remember(id) {
  const ids = [...dismissed(), id].slice(-50);
  sessionStorage.setItem(DISMISSED, JSON.stringify(ids));
}

function heading(c) {
  if (c.kind === "callback") return t("callback");
  return c.direction === "out" ? t("outgoing") : t("incoming");
}

function statusText(c) {
  if (c.status === "ringing") return t("ringing");
  if (c.status === "answered") {
    if (c.agent_id === DATA.me) return t("taken_by_you");
    return c.agent_name ? t("taken_by", { name: c.agent_name }) : t("answered");
  }
  return t("status_" + c.status);
}

function build(c) {
  const parts = {
    kind: el("span", { class: "call-kind" }),
    status: el("span", { class: "call-state" }),
    name: el("strong", { class: "call-name" }),
    returning: el("span", { class: "tag returning", text: t("returning"), hidden: true }),
    number: el("a", { class: "call-number" }),
    body: el("div", { class: "call-body" }, el("p", { class: "muted small", text: t("loading") })),
    actions: el("div", { class: "call-actions" }),
    note: el("p", { class: "call-note", role: "alert", hidden: true }),
  };
  const close = el("button", { type: "button", class: "call-x", "aria-label": t("dismiss"), title: t("dismiss"), text: "×" });
  const node = el(
    "article",
    { class: "call-card", tabindex: "-1", dataset: { callId: c.id } },
    el("header", { class: "call-top" }, el("span", { class: "call-icon", "aria-hidden": "true", text: "☎" }), parts.kind, parts.status, close),
    el("div", { class: "call-who" }, el("div", { class: "call-line" }, parts.name, parts.returning), parts.number),
    parts.body,
    parts.note,
    parts.actions,
  );
  close.addEventListener("click", () => {
    remember(c.id);
    drop(c.id);
  });
  node.addEventListener("submit", (e) => sendForm(c.id, e));
  return { node, parts };
}

function draw(entry) {
  const c = entry.call;
  const p = entry.parts;
  entry.node.dataset.status = c.status;
  p.kind.textContent = heading(c);
  p.status.textContent = statusText(c);
  const name = c.customer && c.customer.name;
  p.name.textContent = name || c.number_display || c.number || t("hidden_number");
  p.returning.hidden = !(c.customer && c.customer.returning);
  p.number.textContent = name ? c.number_display || c.number : "";
  p.number.hidden = !name;
  if (c.number && c.number.startsWith("+")) p.number.href = "tel:" + c.number;
  const open = el("a", { class: "button small", href: urlFor(DATA.call_url, c.id), "data-open-call": true, text: t("open_call") });
  if (c.status === "ringing") {
    const take = el("button", { type: "button", class: "button small", "data-take": true, text: t("take") });
    take.addEventListener("click", () => takeCall(c.id, take));
    p.actions.replaceChildren(take, open);
    open.className = "button small ghost";
    open.textContent = t("details");
  } else {
    p.actions.replaceChildren(open);
  }
}

function show(c) {
  if (!c || c.id == null) return;
  let entry = cards.get(c.id);
  if (!entry) {
    const mine = c.status === "answered" && c.agent_id === DATA.me;
    if ((c.status !== "ringing" && !mine) || dismissed().has(c.id)) return;
    entry = Object.assign({ call: c, customerId: undefined }, build(c));
    cards.set(c.id, entry);
    soundHint.after(entry.node);
    if (c.status === "ringing") alert(c);
  }
  entry.call = c;
  draw(entry);
  const customerId = c.customer ? c.customer.id : null;
  if (customerId !== entry.customerId) {
    entry.customerId = customerId;
    loadBody(entry);
  }
  clearTimeout(entry.timer);
  const othersCall = c.status === "answered" && c.agent_id !== DATA.me;
  if (FINAL.includes(c.status) || othersCall) entry.timer = setTimeout(() => drop(c.id), GONE_AFTER_MS);
  else if (c.status === "ringing") entry.timer = setTimeout(() => drop(c.id), STALE_MS);
  drawSoundHint();
}

function drop(id) {
  const entry = cards.get(id);
  if (!entry) return;
  clearTimeout(entry.timer);
  entry.node.remove();
  cards.delete(id);
  drawSoundHint();
}

function alert(c) {
  const name = (c.customer && c.customer.name) || c.number_display || c.number;
  if (localStorage.getItem("huike:sound") !== "off") chime("conversation");
  notify(t("notify", { name }), heading(c), () => {
    const entry = cards.get(c.id);
    if (entry) entry.node.focus();
  }, "huike-call-" + c.id);
}

function localTimes(root) {
  root.querySelectorAll("time[datetime]").forEach((n) => {
    n.textContent = shortTime(n.getAttribute("datetime"));
    n.title = fullTime(n.getAttribute("datetime"));
  });
}

function showBody(entry, html) {
  const fragment = document.createElement("template");
  fragment.innerHTML = html;
  localTimes(fragment.content);
  entry.parts.body.replaceChildren(fragment.content);
}

async function fetchBody(entry, url, init) {
  const response = await fetch(url, Object.assign({ credentials: "same-origin", headers: { Accept: "text/html" } }, init));
  if (response.status !== 200 && response.status !== 400) throw new Error(String(response.status));
  showBody(entry, await response.text());
}

async function loadBody(entry) {
  try {
    await fetchBody(entry, urlFor(DATA.card_url, entry.call.id));
  } catch (_e) {
    entry.parts.body.replaceChildren(el("p", { class: "muted small", text: t("card_failed") }));
  }
}

/** The fragment's forms (find a customer, link the number) redraw the card in place. */
async function sendForm(id, e) {
  const form = e.target.closest("form[data-card-form]");
  const entry = cards.get(id);
  if (!form || !entry) return;
  e.preventDefault();
  const button = form.querySelector("button");
  if (button) button.disabled = true;
  try {
    if (form.method.toLowerCase() === "get") {
      const query = new URLSearchParams(new FormData(form)).toString();
      await fetchBody(entry, form.action + "?" + query);
    } else {
      await fetchBody(entry, form.action, { method: "POST", body: new FormData(form), headers: { "X-CSRFToken": DATA.csrf, Accept: "text/html" } });
    }
  } catch (_e) {
    if (button) button.disabled = false;
    say(entry, t("error_generic"));
  }
}

function say(entry, text) {
  entry.parts.note.textContent = text;
  entry.parts.note.hidden = !text;
}

async function takeCall(id, button) {
  const entry = cards.get(id);
  button.disabled = true;
  try {
    await ask(socket, "call_take", { call_id: id });
    location.href = urlFor(DATA.call_url, id);
  } catch (err) {
    button.disabled = false;
    if (entry) say(entry, (err && err.message) || t("error_generic"));
  }
}

async function ringingNow() {
  try {
    const response = await fetch(DATA.ringing_url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return [];
    const answer = await response.json();
    if (answer.words) {
      S = answer.words;
      stack.setAttribute("aria-label", t("calls"));
      soundHint.textContent = t("sound_hint");
      soundHint.title = t("sound_why");
    }
    return answer.calls || [];
  } catch (_e) {
    return []; // the next `call` event draws it
  }
}

/** The calls ringing for me now: a page opened (or a socket back) while the phone rings. */
function catchUp() {
  const asked = ringingNow();
  if (!ready) ready = asked;
  asked.then((calls) => calls.reverse().forEach(show));
}

const socket = connect(null);
armAttention();
socket.on("call", (c) => (ready || Promise.resolve()).then(() => show(c)));
// once connected, this tab counts as the agent online (who a call rings for): ask then
socket.on("connect", catchUp);
if (socket.connected) catchUp();
