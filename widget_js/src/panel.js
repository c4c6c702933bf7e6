// Huike chat panel + real-time client. Loaded on demand by loader.js, which
// hands it its context through a one-time callback on the <script> element.
import { io } from "socket.io-client";
import css from "./panel.css";
import { STRINGS, fmt } from "./i18n.js";
import { offerOf, checkCallback, callbackBody } from "./callback.js";
import { splitLinks } from "./links.js";
import { MessageStore } from "./store.js";
import { throttle, uuid } from "./util.js";

const doc = document;
const ICON_CLOSE =
  "M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z";
const ICON_X = "M6 6l12 12M18 6L6 18";
const ICON_CLIP =
  "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z";
const ICON_SEND = "M3.4 20.4l17.45-7.48a1 1 0 0 0 0-1.84L3.4 3.6a1 1 0 0 0-1.39 1.16L4 11l9 1-9 1-1.99 6.24a1 1 0 0 0 1.39 1.16z";
const ICON_PHONE =
  "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z";
const ACK_MS = 8000; // a send not acknowledged by then says "not sent — retry"

/** Tiny element builder. Text is only ever inserted as text nodes / textContent. */
function h(tag, attrs, ...kids) {
  const e = doc.createElement(tag);
  for (const a in attrs || {}) {
    const v = attrs[a];
    if (v == null || v === false) continue;
    if (a.startsWith("on")) e.addEventListener(a.slice(2), v);
    else if (a === "text") e.textContent = v;
    else if (a === "class") e.className = v;
    else e.setAttribute(a, v === true ? "" : v);
  }
  for (const k of kids) if (k != null) e.append(k); // strings become text nodes
  return e;
}

function icon(d) {
  const ns = "http://www.w3.org/2000/svg";
  const s = doc.createElementNS(ns, "svg");
  s.setAttribute("viewBox", "0 0 24 24");
  s.setAttribute("aria-hidden", "true");
  const p = doc.createElementNS(ns, "path");
  p.setAttribute("d", d);
  s.append(p);
  return s;
}

function create(ctx) {
  const { base, siteKey: k, config, root } = ctx;
  const S = STRINGS[ctx.lang] || STRINGS.en;
  const groups = Array.isArray(config.groups) ? config.groups : [];
  const store = new MessageStore();
  const absUrl = (u) => {
    try {
      const x = new URL(u, base + "/");
      return /^https?:$/.test(x.protocol) ? x.href : null;
    } catch (e) {
      return null;
    }
  };

  let socket = null;
  let connected = false;
  let isOpen = false;
  let conversation = null; // {id, status, agent_name}
  const last = ctx.state(); // the loader's latest hello / ping answer
  // a robot answering while nobody is online counts as someone to chat with
  let available = ((typeof last.online == "boolean" ? last.online : config.online !== false) && config.in_hours !== false) || !!last.bot;
  let unread = last.unread || 0;
  let readSent = "";
  let agentRead = 0;
  let readEl = null;
  let group = null;
  let historyLoaded = false;
  let connections = 0;
  let greetings = [];
  let refreshes = 0;
  let typingTimer;
  let noticeTimer;
  let leaveDone = false;
  let leaveAsked = false; // the robot handed over with nobody online: the leave-message form
  let lastDraft = "";
  let offer = null; // the shop's free callback (GET /w/api/callback), when it offers one
  let calling = false; // the callback form is shown

  // ---------- DOM ----------
  const style = h("style");
  style.textContent = css;
  const title = h("div", { class: "t", id: "hk-title" });
  const sub = h("div", { class: "s" });
  const closeBtn = h("button", { class: "ic", type: "button", "aria-label": S.close, onclick: () => close() }, icon(ICON_CLOSE));
  // the callback's entries, shown once the shop says it offers one: in the header, and atop the leave-message form
  const cbBtn = h("button", { class: "ic hide", type: "button", "aria-label": S.callback, title: S.callback, onclick: () => showCallback(true) }, icon(ICON_PHONE));
  const cbLink = h("button", { class: "lk hide", type: "button", onclick: () => showCallback(true) }, icon(ICON_PHONE), S.cbOffer);
  const greet = config.greeting ? h("div", { class: "m a" }, h("div", { class: "bb", text: config.greeting })) : null;
  const list = h("div", { class: "l", role: "log", "aria-live": "polite", "aria-relevant": "additions" });
  const typing = h("div", { class: "ty", "aria-live": "polite" });
  const chooser = h("div", { class: "g", role: "group", "aria-label": S.chooseGroup }, h("p", { text: S.chooseGroup }));
  const leave = h("div", { class: "hide" });
  const cb = h("div", { class: "hide" });
  const scroller = h("div", { class: "sc" }, greet, list, chooser, leave, cb, typing);
  const notice = h("div", { class: "nt", role: "status", hidden: true });
  // shown while the robot holds the chat (conversation status "held")
  const personBtn = h("button", { class: "lk hp hide", type: "button", text: S.botPerson, onclick: () => person() });
  const input = h("textarea", { rows: "1", placeholder: S.placeholder, "aria-label": S.placeholder + " " + S.hint, title: S.hint, maxlength: "5000" });
  const file = h("input", { type: "file", class: "hide", tabindex: "-1", "aria-hidden": "true" });
  const attachBtn = h("button", { class: "ic", type: "button", "aria-label": S.attach, title: S.attach, onclick: () => file.click() }, icon(ICON_CLIP));
  const sendBtn = h("button", { class: "ic sd", type: "submit", "aria-label": S.send, title: S.send }, icon(ICON_SEND));
  const composer = h("form", { class: "c", onsubmit: (e) => (e.preventDefault(), submit()) }, attachBtn, file, input, sendBtn);
  const panel = h(
    "div",
    { class: "p", role: "dialog", "aria-labelledby": "hk-title", hidden: true },
    style,
    h("div", { class: "h" }, h("div", { class: "ht" }, title, sub), cbBtn, closeBtn),
    scroller,
    notice,
    personBtn,
    composer,
    h("div", { class: "ft", text: S.powered })
  );
  panel.style.setProperty("--hk", config.color || "#1f6feb");
  panel.style.setProperty("--hkt", config.ink || "#fff"); // the server picks what reads on the colour
  groups.forEach((g) =>
    chooser.append(
      h("button", {
        class: "ch",
        type: "button",
        "aria-pressed": "false",
        text: g.name,
        onclick(e) {
          group = g.id;
          chooser.querySelectorAll(".ch").forEach((b) => b.setAttribute("aria-pressed", String(b === e.currentTarget)));
          input.focus();
        },
      })
    )
  );
  root.append(panel);
  // the button's close icon (shown while open, see panel.css)
  const svg = ctx.button.querySelector("svg");
  if (svg) svg.append(icon(ICON_X).firstChild), svg.lastChild.setAttribute("class", "x");

  // Keys typed in the widget must not reach the shop's own shortcuts.
  ["keydown", "keyup", "keypress"].forEach((t) => panel.addEventListener(t, (e) => e.stopPropagation()));
  const esc = (e) => {
    if (e.key === "Escape" && isOpen) {
      e.preventDefault();
      close();
    }
  };
  panel.addEventListener("keydown", esc);
  // …and when the focus fell back to the page (the focused control was replaced)
  doc.addEventListener("keydown", (e) => (doc.activeElement === doc.body || doc.activeElement === null) && esc(e));

  // ---------- helpers ----------
  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const toBottom = () => leave.classList.contains("hide") && !calling && (scroller.scrollTop = scroller.scrollHeight); // not over a form

  function say(e) {
    let text = S.generic;
    if (e instanceof Error) text = S.network;
    else if (e && typeof e.message == "string" && e.message) text = e.message;
    else if (e && S[e.error]) text = S[e.error];
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => (notice.hidden = true), 6000);
  }

  const active = () => conversation && conversation.status !== "closed";
  const needGroup = () => groups.length > 1 && !active() && !store.unacked().length;

  function header() {
    title.textContent = (conversation && conversation.agent_name) || S.title;
    let s = S.online;
    let off = false;
    if (!connected && socket) (s = historyLoaded ? S.reconnecting : S.connecting), (off = true);
    else if (conversation && conversation.status === "queued") s = S.queued;
    else if (conversation && conversation.status === "held") s = S.botOn;
    else if (conversation && conversation.status === "closed") (s = S.ended), (off = true);
    else if (!available && !active()) (s = S.offline), (off = true);
    sub.textContent = s;
    sub.classList.toggle("off", off);
  }

  function view() {
    const offline = leaveAsked || (!available && !active() && !store.items.some((it) => !it.m && (it.state === "sending" || it.state === "failed")));
    const chatting = !offline && !calling;
    leave.classList.toggle("hide", !offline || calling);
    cb.classList.toggle("hide", !calling);
    composer.classList.toggle("hide", !chatting);
    list.classList.toggle("hide", !chatting);
    if (greet) greet.classList.toggle("hide", !chatting);
    chooser.classList.toggle("hide", !chatting || !needGroup());
    personBtn.classList.toggle("hide", !chatting || !conversation || conversation.status !== "held");
    if (offline && !calling) buildLeave();
    header();
  }

  // ---------- rendering ----------
  function time(iso) {
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString(ctx.lang, { hour: "2-digit", minute: "2-digit" });
  }

  function body(m) {
    const a = m.attachment;
    const url = a && (a.local || absUrl(a.url));
    if (a && (m.kind === "image" || /^image\//.test(a.type || "")) && url) {
      const img = h("img", { src: url, alt: a.name || "", loading: "lazy" });
      img.addEventListener("load", () => nearBottom() && toBottom());
      return h("div", { class: "bb im" }, h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, img));
    }
    if (a) {
      const name = (a.name || "file") + (a.size ? " (" + Math.max(1, Math.round(a.size / 1024)) + " KB)" : "");
      const clip = icon(ICON_CLIP);
      clip.setAttribute("class", "fi");
      return h("div", { class: "bb" }, clip, url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: name }) : name);
    }
    // a pasted address is a link: built as nodes, never as HTML
    const parts = splitLinks(m.text || "").map((p) => (typeof p == "string" ? p : h("a", { href: p.href, target: "_blank", rel: "noopener noreferrer", text: p.text })));
    return h("div", { class: "bb" }, ...parts);
  }

  function render(it) {
    if (it.local && it.local.card) return (it.el = it.local.card);
    const m = it.m || it.local;
    const ev = m.kind === "event";
    const who = m.sender === "visitor" && !ev ? "v" : (m.sender === "agent" || m.sender === "robot") && !ev ? "a" : "y";
    const name = m.sender === "robot" ? S.botName : m.agent_name;
    const meta = h("div", { class: "mt" });
    if (it.state === "failed") {
      meta.className = "mt er";
      meta.textContent = S.failed;
      meta.setAttribute("role", "button");
      meta.setAttribute("tabindex", "0");
      const retry = () => (it.local.payload ? deliver(it) : null);
      meta.addEventListener("click", retry);
      meta.addEventListener("keydown", (e) => e.key === "Enter" && retry());
    } else if (it.state === "sending") meta.textContent = it.local.payload ? S.sending : S.uploading;
    else if (it.m && who !== "y") meta.textContent = [who === "a" && name, time(it.m.created_at)].filter(Boolean).join(" · ");
    else if (who === "a" && name) meta.textContent = name;
    const el = h("div", { class: "m " + who }, who === "y" ? h("div", { class: "bb", text: m.text || "" }) : body(m), choices(it), meta.textContent ? meta : null);
    if (it.el) it.el.replaceWith(el);
    it.el = el;
    return el;
  }

  // The robot's buttons under its message: "did you mean" questions, a rating, "talk to a
  // person", "leave a message". Each is taken once (the server says so); typing works anyway.
  function choices(it) {
    const o = it.m && it.m.options;
    if (!o || !Array.isArray(o.items) || !o.items.length) return null;
    const row = h("div", { class: "q", role: "group" });
    const label = (i) => (o.kind === "rate" ? (i.id === "helpful" ? S.botHelpful : S.botUnhelpful) : o.kind === "person" ? S.botPerson : o.kind === "leave" ? S.leaveTitle : i.label);
    o.items.forEach((i) =>
      row.append(
        h("button", {
          class: "ch",
          type: "button",
          text: label(i),
          "aria-pressed": String(o.chosen === i.id),
          disabled: o.kind !== "leave" && o.chosen != null,
          onclick(e) {
            if (o.kind === "leave") return (leaveAsked = true), view(), showLeave();
            e.currentTarget.disabled = true;
            choose(it, i.id);
          },
        })
      )
    );
    return row;
  }

  function choose(it, option) {
    if (!socket || !connected) return say(new Error());
    socket.emit("robot_option", { message_id: it.m.id, option }, (res) => {
      if (res && res.options) it.m.options = res.options;
      else say(res);
      it.dirty = true;
      sync();
    });
  }

  function person() {
    if (!socket || !connected) return say(new Error());
    socket.emit("robot_person", {}, (res) => res && res.ok ? 0 : say(res));
  }

  function showLeave() {
    scroller.scrollTop = 0;
    const f = leave.querySelector("input");
    if (f) f.focus({ preventScroll: true });
  }

  /** Make the DOM list match store.items (order, new and changed items). */
  function sync() {
    const stick = nearBottom();
    const kids = list.children;
    store.items.forEach((it, i) => {
      if (!it.el || it.dirty) render(it), (it.dirty = false);
      if (kids[i] !== it.el) list.insertBefore(it.el, kids[i] || null);
    });
    while (kids.length > store.items.length) kids[kids.length - 1].remove();
    markAgentRead();
    view();
    if (stick) toBottom();
  }

  function markAgentRead() {
    let last = null;
    for (const it of store.items) if (it.m && it.m.sender === "visitor" && it.m.conversation_id === store.conv && it.m.seq <= agentRead) last = it;
    if (readEl && (!last || readEl.parentNode !== last.el)) readEl.remove(), (readEl = null);
    if (last && !readEl) {
      readEl = h("div", { class: "mt", text: S.read });
      last.el.append(readEl);
    }
  }

  // ---------- messages ----------
  function incoming(m, live) {
    const it = store.add(m);
    if (!it) return;
    it.dirty = true;
    if (live) {
      ctx.emit("message", m);
      if (m.sender !== "visitor") {
        setTyping(false);
        if (!isOpen || doc.visibilityState !== "visible") ctx.badge(++unread);
      }
    }
  }

  // Not acknowledged in time (or not connected): "not sent — retry". A retry, and a reconnect
  // (nothing is lost when the connection comes back), send the same client_id: the server
  // stores the message once.
  function failed(it, attempt) {
    if (it.m || attempt !== it.attempt || it.state !== "sending") return;
    it.state = "failed";
    it.dirty = true;
    sync();
  }

  function deliver(it) {
    const attempt = (it.attempt = (it.attempt || 0) + 1);
    it.state = "sending";
    it.dirty = true;
    sync();
    clearTimeout(it.timer);
    it.timer = setTimeout(() => failed(it, attempt), ACK_MS);
    if (!socket || !connected) return; // sent on (re)connect with the same client_id
    it.conn = connections; // in flight on this connection
    socket.timeout(ACK_MS).emit("message", it.local.payload, (err, res) => {
      if (it.m) return; // already settled (broadcast or an earlier ack)
      if (err) return failed(it, attempt);
      clearTimeout(it.timer);
      if (res && res.message && typeof res.message == "object") {
        const dropped = store.ack(it, res.message);
        if (dropped && dropped.el) dropped.el.remove();
        it.dirty = true;
        ctx.emit("message", res.message);
      } else {
        it.state = "failed";
        it.dirty = true;
        say(res);
      }
      sync();
    });
  }

  function queueSend(local) {
    local.client_id = local.client_id || uuid();
    local.sender = "visitor";
    const it = store.pending(local);
    sync();
    toBottom();
    return it;
  }

  function payload(local, extra) {
    const p = Object.assign({ client_id: local.client_id }, extra);
    if (needGroup() && group != null) p.group_id = group;
    return p;
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    grow();
    draft("");
    const local = { kind: "text", text, client_id: uuid() };
    local.payload = payload(local, { text });
    deliver(queueSend(local));
    input.focus();
  }

  // the shop's limit in words ("files up to 10 MB"), before sending or from a proxy's 413 page
  const max = config.max_upload || 10485760;
  const tooBig = () => ({ message: fmt(S.tooBig, { mb: Math.floor(max / 1048576) }) });

  function upload(f) {
    if (f.size > max) return say(tooBig());
    const image = /^image\//.test(f.type);
    const local = {
      kind: image ? "image" : "file",
      attachment: { name: f.name, type: f.type, size: f.size, local: image && URL.createObjectURL ? URL.createObjectURL(f) : null },
      client_id: uuid(),
    };
    const it = queueSend(local);
    const fd = new FormData();
    fd.append("file", f);
    ctx.ready
      .then(() => fetch(base + "/w/api/upload?k=" + encodeURIComponent(k) + "&t=" + encodeURIComponent(ctx.token()) + "&lang=" + ctx.lang, { method: "POST", body: fd, credentials: "omit" }))
      .then((r) => r.json().then((j) => (r.ok && j.attachment ? j.attachment : Promise.reject(j)), () => Promise.reject(r.status == 413 ? tooBig() : {})))
      .then((att) => {
        local.payload = payload(local, { attachment_id: att.id });
        deliver(it);
      })
      .catch((e) => {
        store.remove(it);
        sync();
        say(e);
      });
  }

  // ---------- draft (message preview), typing, read ----------
  const sendDraft = throttle((text) => {
    if (socket && connected && text !== lastDraft) {
      lastDraft = text;
      socket.emit("draft", { text });
    }
  }, 300);
  const draft = (text) => sendDraft(text.length > 2000 ? text.slice(0, 2000) : text);

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }
  input.addEventListener("input", () => {
    grow();
    draft(input.value);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  file.addEventListener("change", () => {
    Array.from(file.files || []).forEach(upload);
    file.value = "";
  });

  function setTyping(on, name) {
    clearTimeout(typingTimer);
    typing.textContent = on ? fmt(S.typing, { name: name || (conversation && conversation.agent_name) || S.agent }) : "";
    if (on) typingTimer = setTimeout(() => setTyping(false), 8000);
  }

  function markRead() {
    if (!isOpen || doc.visibilityState !== "visible") return;
    unread = 0;
    ctx.badge(0);
    const seq = store.lastSeq();
    const key = store.conv + ":" + seq;
    if (seq && socket && connected && key !== readSent) {
      readSent = key;
      socket.emit("read", { seq });
    }
  }
  doc.addEventListener("visibilitychange", markRead);

  // ---------- conversation, rating ----------
  function setConversation(c) {
    if (!c) return;
    if (c.id !== (conversation && conversation.id)) agentRead = 0;
    conversation = c;
    if (c.id > store.conv) store.conv = c.id;
    header();
  }

  function askRating(convId) {
    let score = 0;
    // a card in the message list, right after the closed conversation's last message
    const rating = h("div", { class: "r" });
    const comment = h("textarea", { rows: "2", placeholder: S.comment, "aria-label": S.comment, maxlength: "1000" });
    const stars = h("div", { class: "st", role: "radiogroup", "aria-label": S.rateTitle });
    const send = h("button", { class: "pb", type: "button", text: S.rateSubmit, disabled: true });
    for (let n = 1; n <= 5; n++) {
      stars.append(
        h("button", {
          type: "button",
          role: "radio",
          "aria-checked": "false",
          "aria-label": fmt(S.star, { n }),
          text: "★",
          onclick() {
            score = n;
            send.disabled = false;
            Array.from(stars.children).forEach((b, i) => {
              b.classList.toggle("on", i < n);
              b.setAttribute("aria-checked", String(i + 1 === n));
            });
          },
        })
      );
    }
    send.addEventListener("click", () => {
      if (!score || !socket) return;
      send.disabled = true;
      const p = { conversation_id: convId, score };
      if (comment.value.trim()) p.comment = comment.value.trim();
      socket.emit("rate", p, (res) => {
        if (res && res.ok) {
          rating.textContent = "";
          const ok = h("div", { class: "ok", role: "status", tabindex: "-1", text: S.rateThanks });
          rating.append(ok);
          ok.focus();
        } else {
          send.disabled = false;
          say(res);
        }
      });
    });
    rating.append(h("p", { text: S.rateTitle }), stars, comment, send);
    store.note({ card: rating });
    sync();
    toBottom();
  }

  // ---------- leave a message ----------
  function buildLeave() {
    if (leave.firstChild) return;
    if (leaveDone) return;
    const err = h("div", { class: "fe", role: "alert" });
    const fields = {};
    const field = (name, tag, attrs) => {
      const id = "hk-f-" + name;
      const el = h(tag, Object.assign({ id, name, "aria-describedby": id + "-e" }, attrs));
      const e = h("div", { class: "fe", id: id + "-e" });
      fields[name] = [el, e];
      return h("label", { for: id }, S[name === "text" ? "message" : name], el, e);
    };
    const btn = h("button", { class: "pb", type: "submit", text: S.submit });
    const form = h(
      "form",
      { class: "f", novalidate: true },
      h("p", { text: config.offline_text || S.leaveIntro }),
      field("name", "input", { autocomplete: "name", maxlength: "100" }),
      field("phone", "input", { type: "tel", autocomplete: "tel", maxlength: "40" }),
      field("email", "input", { type: "email", autocomplete: "email", maxlength: "200" }),
      field("text", "textarea", { rows: "4", maxlength: "5000" }),
      err,
      btn
    );
    const show = (name, msg) => {
      const f = fields[name];
      if (!f) return (err.textContent = msg);
      f[1].textContent = msg;
      f[0].setAttribute("aria-invalid", "true");
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      err.textContent = "";
      for (const n in fields) fields[n][1].textContent = "", fields[n][0].removeAttribute("aria-invalid");
      const v = {};
      for (const n in fields) v[n] = fields[n][0].value.trim();
      // every missing field at once, in the page's language (the server's answer too: lang)
      let bad = false;
      if (!v.name) show("name", S.needName), (bad = true);
      if (!v.phone && !v.email) show("phone", S.needContact), (bad = true);
      if (/[^\d+\-() ]/.test(v.phone)) show("phone", S.badPhone), (bad = true);
      if (v.email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v.email)) show("email", S.badEmail), (bad = true);
      if (!v.text) show("text", S.needText), (bad = true);
      if (bad) return;
      btn.disabled = true;
      const body = { k, t: ctx.token(), name: v.name, text: v.text, url: location.href, lang: ctx.lang };
      if (v.phone) body.phone = v.phone;
      if (v.email) body.email = v.email;
      ctx.ready
        .then(() => {
          body.t = ctx.token();
          return fetch(base + "/w/api/leave", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "omit" });
        })
        .then((r) => r.json().then((j) => ({ ok: r.ok, j })))
        .then(({ ok, j }) => {
          btn.disabled = false;
          if (ok) {
            leaveDone = true;
            leave.textContent = "";
            const ok = h("div", { class: "ok", role: "status", tabindex: "-1", text: S.leaveThanks });
            leave.append(ok);
            ok.focus(); // keeps the focus (and Esc) inside the panel
            return;
          }
          if (j && j.errors && typeof j.errors == "object") for (const n in j.errors) show(n, String(j.errors[n]));
          else if (j && j.field) show(j.field, j.message || S.generic);
          else show("", (j && j.message) || S.generic);
          const first = form.querySelector('[aria-invalid="true"]');
          if (first) first.focus();
        })
        .catch(() => {
          btn.disabled = false;
          show("", S.network);
        });
    });
    leave.append(h("div", { class: "f" }, h("p", { class: "t", text: S.leaveTitle }), cbLink), form);
  }

  // ---------- free callback ----------
  function showCallback(on) {
    calling = on;
    if (on) buildCallback();
    view();
    scroller.scrollTop = 0;
    const f = on ? cb.querySelector("select,input,.ok") : leave.classList.contains("hide") ? input : leave.querySelector("input");
    if (f) f.focus({ preventScroll: true });
  }

  function buildCallback() {
    if (cb.firstChild) return;
    const err = h("div", { class: "fe", role: "alert" });
    const fields = {};
    const labelled = (name, text, el, extra) => {
      el.id = "hk-c-" + name;
      el.setAttribute("aria-describedby", el.id + "-e");
      const e = h("div", { class: "fe", id: el.id + "-e" });
      fields[name] = [el, e];
      return h("label", { for: el.id }, text, el, extra || null, e);
    };
    const countries = offer.countries;
    const country = h("select", { name: "country" });
    countries.forEach((c) => country.append(h("option", { value: c.code, text: c.name })));
    const phone = h("input", { type: "tel", name: "phone", autocomplete: "tel", maxlength: "40", inputmode: "tel" });
    const at = h("input", { type: "datetime-local", name: "at", min: offer.min, max: offer.max, step: "60" });
    const consent = h("input", { type: "checkbox", name: "consent", id: "hk-c-consent", "aria-describedby": "hk-c-consent-e" });
    const consentErr = h("div", { class: "fe", id: "hk-c-consent-e" });
    fields.consent = [consent, consentErr];
    const btn = h("button", { class: "pb", type: "submit", text: S.cbSubmit });
    const back = h("button", { class: "lk", type: "button", text: S.cbBack, onclick: () => showCallback(false) });
    const form = h(
      "form",
      { class: "f", novalidate: true },
      h("p", { text: S.cbIntro }),
      offer.hours ? h("p", { class: "hn", text: fmt(S.cbHours, { hours: offer.hours }) }) : null,
      countries.length > 1 ? labelled("country", S.cbCountry, country) : null,
      labelled("phone", S.cbPhone, phone),
      labelled("at", fmt(S.cbTime, { zone: offer.zone || "" }), at, h("span", { class: "hn", text: S.cbTimeHint })),
      h("div", { class: "cs" }, h("label", { class: "ck", for: "hk-c-consent" }, consent, h("span", { text: offer.consent })), consentErr),
      err,
      btn
    );
    const show = (name, msg) => {
      const f = fields[name];
      if (!f) return (err.textContent = msg);
      f[1].textContent = msg;
      f[0].setAttribute("aria-invalid", "true");
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      err.textContent = "";
      for (const n in fields) (fields[n][1].textContent = ""), fields[n][0].removeAttribute("aria-invalid");
      const v = { phone: phone.value.trim(), consent: consent.checked, at: at.value, country: countries.length > 1 ? country.value : "" };
      const problems = checkCallback(v, S);
      for (const n in problems) show(n, problems[n]);
      if (Object.keys(problems).length) return (form.querySelector('[aria-invalid="true"]') || phone).focus();
      btn.disabled = true;
      ctx.ready
        .then(() => fetch(base + "/w/api/callback", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(callbackBody(v, { k, t: ctx.token(), url: location.href, lang: ctx.lang })), credentials: "omit" }))
        .then((r) => r.json().then((j) => ({ ok: r.ok, j })))
        .then(({ ok, j }) => {
          btn.disabled = false;
          if (ok) {
            cb.textContent = "";
            const done = h("div", { class: "ok", role: "status", tabindex: "-1", text: j.message || S.leaveThanks });
            cb.append(h("div", { class: "f" }, done, back));
            return done.focus();
          }
          show(j && j.field, (j && j.message) || S.generic);
          (form.querySelector('[aria-invalid="true"]') || btn).focus();
        })
        .catch(() => {
          btn.disabled = false;
          show("", S.network);
        });
    });
    cb.append(h("div", { class: "cbh" }, h("p", { class: "t", text: S.callback }), back), form);
  }

  // whether the shop offers a callback here: asked once the visitor has a token
  ctx.ready
    .then(() => fetch(base + "/w/api/callback?k=" + encodeURIComponent(k) + "&t=" + encodeURIComponent(ctx.token() || "") + "&lang=" + ctx.lang, { credentials: "omit" }))
    .then((r) => (r.ok ? r.json() : null))
    .then((j) => {
      offer = offerOf(j);
      if (offer) cbBtn.classList.remove("hide"), cbLink.classList.remove("hide");
    })
    .catch(() => 0);

  // ---------- greetings (agent invitations, rules) ----------
  function showGreetings(force) {
    if (!historyLoaded && !force) return;
    greetings.forEach((g) => (store.note({ sender: "agent", kind: "text", text: g.text, agent_name: g.agent || null }), 0));
    greetings = [];
    sync();
  }

  // ---------- socket ----------
  function connect() {
    socket = io(String(config.socket || base).replace(/\/+$/, "") + "/visitor", {
      path: "/socket.io",
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      auth: (cb) => cb({ k, t: ctx.token(), lang: ctx.lang }),
    });
    socket.on("connect", () => {
      connected = true;
      connections++;
      lastDraft = "";
      readSent = "";
      header();
      history(store.lastSeq(), store.conv);
    });
    socket.on("disconnect", () => {
      connected = false;
      setTyping(false);
      header();
    });
    socket.on("connect_error", (err) => {
      connected = false;
      header();
      if (socket.active) return; // transport trouble: socket.io retries by itself
      // refused by the server (bad/foreign token, flood control…)
      const why = (err && err.data && err.data.error) || (err && err.message) || "";
      const limited = /rate_limit/.test(why);
      if (!limited && refreshes++ < 2) ctx.refresh().then(() => socket.connect());
      else setTimeout(() => socket.connect(), limited ? 10000 : 30000);
    });
    socket.on("message", (m) => {
      incoming(m, true);
      sync();
      markRead();
    });
    socket.on("options", (d) => {
      const it = d && store.ids.get(d.message_id);
      if (it) (it.m.options = d.options), (it.dirty = true), sync();
    });
    socket.on("typing", (d) => setTyping(!!(d && d.typing), d && d.agent_name));
    socket.on("read", (d) => {
      if (d && d.seq > agentRead) agentRead = d.seq;
      markAgentRead();
    });
    socket.on("conversation", (c) => {
      setConversation(c);
      view();
    });
    socket.on("closed", (d) => {
      const id = (d && d.conversation_id) || (conversation && conversation.id);
      setConversation(Object.assign({}, conversation, { id, status: "closed" }));
      setTyping(false);
      group = null;
      chooser.querySelectorAll(".ch").forEach((b) => b.setAttribute("aria-pressed", "false"));
      if (d && d.ask_rating) askRating(id);
      view();
    });
    socket.on("invite", (d) => open({ greeting: d && d.text, agent: d && d.agent_name }));
    socket.on("error", (e) => say(e));
  }

  function history(since, conv, again) {
    socket.emit("history", { since }, (res) => {
      if (!res || res.error) return say(res);
      const c = res.conversation;
      // the conversation changed since we last looked: fetch it from the start
      if (c && since && conv && c.id !== conv && !again) return history(0, c.id, true);
      setConversation(c);
      (res.messages || []).forEach((m) => incoming(m, false));
      refreshes = 0;
      historyLoaded = true;
      showGreetings();
      // resend what was never acknowledged (same client_id → no duplicates); not what is in
      // flight on this connection: a first message sent twice at once could start two chats
      store.unacked().filter((it) => it.conn != connections).forEach(deliver);
      sync();
      markRead();
    });
  }

  // ---------- open / close ----------
  let lastGreeting = "";
  let lastGreetingAt = 0;
  function open(opts) {
    const key = opts && opts.greeting && opts.agent + "\n" + opts.greeting;
    // the same invitation can arrive twice (socket event, then the next ping): show it once
    if (key && (key !== lastGreeting || Date.now() - lastGreetingAt > 60000)) {
      lastGreeting = key;
      lastGreetingAt = Date.now();
      greetings.push({ text: String(opts.greeting), agent: opts.agent });
      showGreetings();
      if (!historyLoaded) setTimeout(() => showGreetings(true), 4000);
    }
    if (isOpen) return;
    isOpen = true;
    panel.hidden = false;
    ctx.opened(true);
    ctx.button.setAttribute("aria-label", S.closeChat);
    view();
    const chat = leave.classList.contains("hide");
    if (chat) toBottom();
    else scroller.scrollTop = 0;
    const f = chat ? input : leave.querySelector("input");
    // (no focus, hence no on-screen keyboard, when a rule opened the panel on a phone)
    if (f && !(opts && opts.rule && matchMedia("(max-width: 480px)").matches)) f.focus({ preventScroll: true });
    markRead();
  }

  function close() {
    if (!isOpen) return;
    const inside = root.activeElement && panel.contains(root.activeElement);
    isOpen = false;
    panel.hidden = true;
    ctx.opened(false);
    if (inside) ctx.button.focus();
  }

  ctx.badge(unread);
  header();
  view();
  // no visitor token, no chat to join (the settings page's preview: its hello gives none)
  ctx.ready.then(() => ctx.token() && connect());

  return {
    open,
    close,
    toggle: () => (isOpen ? close() : open()),
    status(r) {
      const a = typeof r.online == "boolean" ? (r.online && config.in_hours !== false) || !!r.bot : available;
      if (a !== available) {
        available = a;
        view();
      }
      if (!isOpen && typeof r.unread == "number" && r.unread > unread) ctx.badge((unread = r.unread));
    },
    token() {
      // a new visitor token (hello answered with another t): reconnect with it
      if (socket && connected) socket.disconnect().connect();
    },
  };
}

// The handshake: loader.js put a one-time callback on the <script> element that loaded us.
const me = doc.currentScript;
if (me && typeof me.huike == "function") me.huike(create);
