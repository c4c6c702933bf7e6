// Huike loader: the chat button, the visitor token, page views, pings,
// invitation rules, and the lazy load of the chat panel. Budget ≤ 3 KB gzipped.
import css from "./loader.css";
import { pickLang, LOADER } from "./i18n.js";
import { tokenStore } from "./storage.js";
import { ruleMatches } from "./util.js";

// The server replaces this string literal (with its quotes) by {base, siteKey, config}.
const boot = "__HUIKE_BOOT__";

const w = window;
const doc = document;
const on = (el, ev, fn, o) => el.addEventListener(ev, fn, o);
const visible = () => doc.visibilityState == "visible";

const self = doc.currentScript; // only set while this script first runs

function start() {
  // The server that sent this script: the snippet's src without "/w/<site key>.js".
  const base = boot.base || self.src.replace(/\/w\/[^/]*$/, "");
  const k = boot.siteKey;
  const config = boot.config || {};
  const store = tokenStore("huike:" + k);
  // The page says what language it is in; the shop's setting covers pages that do not.
  const lang = pickLang(doc.documentElement.lang, config.lang, navigator.language);
  const L = LOADER[lang];
  const listeners = {};
  let token = store.get() || undefined;
  let identity, identified, panel, script, readyData, lastUrl, lastInvite, navTimer, resolveReady;
  let last = {}; // the latest hello / ping answer
  let queue = [];
  let polling;
  let timers = [];
  let count = 0;
  const ready = new Promise((r) => (resolveReady = r));

  // listeners run on their own task: one that throws cannot break the widget or the others
  const emit = (ev, data) => (listeners[ev] || []).forEach((fn) => setTimeout(fn, 0, data));

  // --- the button, in a Shadow DOM host isolated from the page's CSS ---
  const host = doc.createElement("huike-widget");
  // config.style: the shop's colours and button position as CSS custom properties (loader_config)
  host.setAttribute("style", "all:initial!important;" + config.style);
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    '<style></style><div class="w"><button class="b" type="button" aria-expanded="false">' +
    '<svg viewBox="0 0 24 24"><path class="o" d="M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z"/></svg>' +
    '<span class="n" hidden aria-hidden="true"></span></button></div>';
  root.firstChild.textContent = css;
  const wrap = root.lastChild;
  const btn = wrap.firstChild;
  const badgeEl = btn.lastChild;
  const isOpen = () => wrap.classList.contains("open");

  // (while open, the panel labels the button "close")
  const label = () => btn.setAttribute("aria-label", L.open + (count ? L.unread.replace("{n}", count) : ""));
  function badge(n) {
    count = n | 0;
    badgeEl.textContent = count > 99 ? "99+" : count;
    badgeEl.hidden = !count;
    if (!isOpen()) label();
  }
  badge(0);

  // --- HTTP (JSON, no cookies) ---
  const post = (path, body) =>
    fetch(base + "/w/api/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
    }).then((r) => (r.ok ? r.json() : Promise.reject(r)));

  // a new visitor token from the server: keep it; the panel reconnects with it
  const adopt = (t) => {
    if (t && t != token) {
      store.set((token = t));
      if (panel) panel.token();
    }
  };

  const forget = () => {
    token = undefined;
    store.clear();
  };

  function status(r) {
    last = r;
    panel ? panel.status(r) : badge(r.unread);
    const inv = r.invite;
    const key = inv && JSON.stringify(inv);
    if (inv && key != lastInvite) {
      lastInvite = key;
      call("open", { greeting: inv.text, agent: inv.agent_name });
    } else if (r.unread > 0) load();
  }

  function hello(referrer, again) {
    lastUrl = location.href;
    return post("hello", { k, t: token, url: lastUrl, title: doc.title, referrer: referrer || doc.referrer, lang }).then(
      (r) => {
        // What only the open panel and the rules need comes with the first answer, keeping
        // the inlined loader small.
        if (r.config && !config.greeting) Object.assign(config, r.config), arm();
        adopt(r.t);
        // the button only once the server answers this page: none where it refuses the chat
        host.isConnected || doc.body.appendChild(host);
        identifyNow();
        resolveReady();
        status(r);
        if (!readyData) emit("ready", (readyData = { visitor: r.visitor }));
        ping();
        return r;
      },
      (e) => {
        // this website is not one the shop allows: no chat to offer here
        if (e.status == 403) return host.remove();
        // a stale or foreign token: forget it and start over; a network error: once more, later
        if (token && e.status >= 400 && e.status < 500 && e.status != 429) return forget(), hello(referrer);
        if (!again) setTimeout(() => hello(referrer, 1), 5000);
      }
    );
  }

  // the JSON error the server answered a refused call with
  const refused = (e, fn) => e.json && e.json().then(fn, () => 0);

  // Huike.identify: sent once per visitor token (a new token is a new visitor to bind). The
  // server answers a new token when this browser was another signed-in buyer's; a refused
  // hash is the shop developer's to fix, so the browser console says why.
  const identifyNow = () =>
    identity &&
    token &&
    identified != token &&
    post("identify", { k, t: (identified = token), identity }).then(
      (r) => adopt((identified = r.t || token)),
      (e) => refused(e, (j) => console.error("Huike.identify: " + j.message))
    );

  // A long poll: the server answers at once with an agent's invitation, else after 20 s (a
  // ping). Again a second later while the page is visible; 20 s after an error.
  function ping() {
    if (polling || !token || !visible()) return;
    polling = post("ping", { k, t: token, url: location.href, w: 20 })
      .then(
        (r) => (status(r), 1e3),
        (e) =>
          // a token the server no longer accepts: a new one from hello
          (refused(e, (j) => j.error == "unauthorized" && (forget(), hello())), 2e4)
      )
      .then((ms) => setTimeout(() => ((polling = 0), ping()), ms));
  }

  // --- the panel: loaded on intent, an invitation or an unread reply ---
  function load() {
    if (script) return;
    script = doc.createElement("script");
    script.src = base + "/static/widget/panel.js"; // revalidated by its ETag: no stale panel
    script.async = true;
    // Module-private handshake: panel.js calls this one-time callback found on document.currentScript.
    script.huike = (create) => {
      script.huike = null;
      panel = create(ctx);
      queue.forEach(([m, a]) => panel[m].apply(null, a));
      queue = [];
    };
    script.onerror = () => {
      script.remove();
      script = null;
    };
    doc.head.appendChild(script);
  }
  function call(m, ...a) {
    if (panel) panel[m].apply(null, a);
    else queue.push([m, a]), load();
  }

  const ctx = {
    base,
    siteKey: k,
    config,
    lang,
    root,
    button: btn,
    ready,
    token: () => token,
    refresh: () => hello(), // the server answers a fresh token when it refuses this one
    state: () => last,
    emit,
    badge,
    opened(open) {
      wrap.classList.toggle("open", open);
      btn.setAttribute("aria-expanded", open);
      if (!open) label();
      emit(open ? "open" : "close");
    },
  };

  // --- invitation rules: a glob on the URL + seconds on the page, once per session ---
  function arm() {
    timers.forEach(clearTimeout);
    timers = (config.rules || [])
      .filter((rule) => rule && ruleMatches(rule.pattern, location.href))
      .map((rule) =>
        setTimeout(() => {
          const once = "huike:" + k + rule.pattern + rule.seconds;
          try {
            if (sessionStorage.getItem(once)) return;
            sessionStorage.setItem(once, 1);
          } catch (e) {
            /* fire anyway */
          }
          // only when someone can answer on this page (the latest hello / ping says)
          if (!isOpen() && last.online) call("open", { greeting: rule.text, rule: true });
        }, rule.seconds * 1000 || 0)
      );
  }

  // --- single-page-app navigation ---
  function nav() {
    clearTimeout(navTimer);
    // a little later: lets the app set the new document.title first
    navTimer = setTimeout(() => location.href != lastUrl && (hello(lastUrl), arm()), 300);
  }
  ["pushState", "replaceState"].forEach((name) => {
    const orig = history[name];
    history[name] = function () {
      const r = orig.apply(this, arguments);
      nav();
      return r;
    };
  });
  on(w, "popstate", nav);

  on(btn, "mouseenter", load);
  on(btn, "focus", load);
  on(btn, "touchstart", load, { passive: true });
  on(btn, "click", () => (panel ? panel.toggle() : call("open")));

  on(doc, "visibilitychange", ping);

  w.Huike = {
    open: () => call("open"),
    close() {
      if (panel) panel.close();
      else queue = queue.filter((q) => q[0] != "open");
    },
    identify(data) {
      identity = data;
      identified = 0;
      readyData && identifyNow();
    },
    on(ev, fn) {
      (listeners[ev] = listeners[ev] || []).push(fn);
      if (ev == "ready" && readyData) fn(readyData);
      return () => (listeners[ev] = listeners[ev].filter((f) => f != fn));
    },
  };

  const mount = () => (hello(), arm());
  doc.body ? mount() : on(doc, "DOMContentLoaded", mount);
}

if (boot && boot.siteKey && !w.Huike && doc.documentElement.attachShadow) start();
