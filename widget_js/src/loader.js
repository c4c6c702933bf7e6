// Huike loader: the chat button, the visitor token, page views, pings,
// invitation rules, and the lazy load of the chat panel. Budget ≤ 3 KB gzipped.
import css from "./loader.css";
import { pickLang, fmt, LOADER } from "./i18n.js";
import { tokenStore } from "./storage.js";
import { ruleMatches, textOn } from "./util.js";

// The server replaces this string literal (with its quotes) by {base, siteKey, config}.
const boot = "__HUIKE_BOOT__";

const w = window;
const doc = document;

function start() {
  const base = String(boot.base || "").replace(/\/+$/, "");
  const k = boot.siteKey;
  const config = boot.config || {};
  const store = tokenStore("huike:" + k);
  const lang = pickLang(config.lang, doc.documentElement.lang, navigator.language);
  const L = LOADER[lang];
  const listeners = {};
  const state = { online: config.online !== false, unread: 0 };
  let token = store.get() || undefined;
  let identity = null;
  let panel = null;
  let script = null;
  let queue = [];
  let readyData = null;
  let lastUrl = null;
  let lastPing = 0;
  let lastInvite = null;
  let timers = [];
  let navTimer;
  let resolveReady;
  const ready = new Promise((r) => (resolveReady = r));

  const emit = (ev, data) =>
    (listeners[ev] || []).slice().forEach((fn) => {
      try {
        fn(data);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    });

  // --- the button, in a Shadow DOM host isolated from the page's CSS ---
  const host = doc.createElement("huike-widget");
  host.setAttribute("style", "all:initial!important");
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    '<style></style><div class="w" part="launcher"><button class="b" type="button" aria-haspopup="dialog" aria-expanded="false">' +
    '<svg class="c" viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3C6.5 3 2 6.8 2 11.5c0 2.5 1.3 4.8 3.4 6.3L4.6 21.4l4.3-2.2c1 .2 2 .4 3.1.4 5.5 0 10-3.8 10-8.5S17.5 3 12 3zm-4 9.8a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6zm4 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6zm4 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6z"/></svg>' +
    '<svg class="x" viewBox="0 0 24 24" aria-hidden="true"><path d="M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z"/></svg>' +
    '<span class="n" hidden aria-hidden="true"></span></button></div>';
  root.firstChild.textContent = css;
  const wrap = root.lastChild;
  const btn = wrap.firstChild;
  const badgeEl = btn.lastChild;
  const color = config.color || "#1f6feb";
  wrap.style.setProperty("--hk", color);
  wrap.style.setProperty("--hkt", textOn(color));

  function label() {
    const open = wrap.classList.contains("open");
    const n = +badgeEl.textContent.replace("+", "") || 0;
    btn.setAttribute("aria-label", (open ? L.close : L.open) + (n && !open ? " (" + fmt(L.unread, { n }) + ")" : ""));
  }
  function badge(n) {
    n = Math.max(0, n | 0);
    badgeEl.textContent = n > 99 ? "99+" : n;
    badgeEl.hidden = !n;
    label();
  }
  badge(0);

  // --- HTTP ---
  const post = (path, body) =>
    fetch(base + "/w/api/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
    }).then((r) => (r.ok ? r.json() : Promise.reject(r)));

  function status(r) {
    if (!r) return;
    if (typeof r.online == "boolean") state.online = r.online;
    if (typeof r.unread == "number") state.unread = r.unread;
    if (panel) panel.status(r);
    else badge(state.unread);
    const inv = r.invite;
    if (inv && JSON.stringify(inv) !== lastInvite) {
      lastInvite = JSON.stringify(inv);
      call("open", typeof inv == "object" ? { greeting: inv.text, agent: inv.agent_name } : {});
    } else if (state.unread > 0) load();
  }

  function hello(referrer, retry) {
    lastUrl = location.href;
    lastPing = Date.now();
    return post("hello", { k, t: token, url: lastUrl, title: doc.title, referrer: referrer || doc.referrer, lang }).then(
      (r) => {
        if (r.t && r.t !== token) {
          token = r.t;
          store.set(token);
          if (panel) panel.token();
        }
        resolveReady();
        status(r);
        if (!readyData) {
          readyData = { visitor: r.visitor };
          emit("ready", readyData);
        }
        return r;
      },
      (e) => {
        // a stale / foreign token: forget it and start over once
        if (token && e && e.status >= 400 && e.status < 500 && e.status !== 429) {
          token = undefined;
          store.clear();
          return hello(referrer);
        }
        retry = retry || 0;
        if (retry < 3) setTimeout(() => hello(referrer, retry + 1), 3000 * Math.pow(3, retry));
      }
    );
  }

  function ping() {
    if (!token || doc.visibilityState !== "visible") return;
    lastPing = Date.now();
    post("ping", { k, t: token, url: location.href }).then(status, (e) => {
      if (e && (e.status === 401 || e.status === 403)) {
        token = undefined;
        store.clear();
        hello();
      }
    });
  }

  // --- the panel: loaded on intent, invitation, or unread reply ---
  function load() {
    if (script || !config.panel) return;
    script = doc.createElement("script");
    script.src = config.panel;
    script.async = true;
    // Module-private handshake: panel.js finds this one-time callback on document.currentScript.
    script.huike = (create) => {
      script.huike = null;
      panel = create(ctx);
      const q = queue;
      queue = [];
      q.forEach(([m, a]) => panel[m].apply(null, a));
    };
    script.onerror = () => {
      script.remove();
      script = null;
    };
    (doc.head || doc.documentElement).appendChild(script);
  }
  function call(m, ...a) {
    if (panel) panel[m].apply(null, a);
    else {
      queue.push([m, a]);
      load();
    }
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
    refresh() {
      token = undefined;
      store.clear();
      return hello();
    },
    state: () => state,
    identity: () => identity,
    emit,
    badge,
    opened(open) {
      wrap.classList.toggle("open", open);
      btn.setAttribute("aria-expanded", String(open));
      label();
      emit(open ? "open" : "close");
    },
  };

  // --- invitation rules: pattern on the URL + seconds on the page ---
  function arm() {
    timers.forEach(clearTimeout);
    timers = [];
    (config.rules || []).forEach((rule, i) => {
      if (!rule || !ruleMatches(rule.pattern, location.href)) return;
      timers.push(
        setTimeout(() => {
          const once = "huike:" + k + ":rule:" + i;
          try {
            if (sessionStorage.getItem(once)) return;
            sessionStorage.setItem(once, "1");
          } catch (e) {
            /* fire anyway */
          }
          if (!wrap.classList.contains("open")) call("open", { greeting: rule.text, rule: true });
        }, (+rule.seconds || 0) * 1000)
      );
    });
  }

  // --- single-page-app navigation ---
  function nav() {
    clearTimeout(navTimer);
    navTimer = setTimeout(() => {
      if (location.href !== lastUrl) {
        hello(lastUrl);
        arm();
      }
    }, 300); // lets the app set the new document.title first
  }
  ["pushState", "replaceState"].forEach((name) => {
    const orig = history[name];
    history[name] = function () {
      const r = orig.apply(this, arguments);
      nav();
      return r;
    };
  });
  w.addEventListener("popstate", nav);

  btn.addEventListener("mouseenter", load);
  btn.addEventListener("focus", load);
  btn.addEventListener("touchstart", load, { passive: true });
  btn.addEventListener("click", () => (panel ? panel.toggle() : call("open")));

  setInterval(ping, 20000);
  doc.addEventListener("visibilitychange", () => {
    if (doc.visibilityState === "visible" && Date.now() - lastPing > 20000) ping();
  });

  w.Huike = {
    open: () => call("open"),
    close() {
      if (panel) panel.close();
      else queue = queue.filter((q) => q[0] !== "open");
    },
    identify(data) {
      identity = data;
      if (panel) panel.identify(data);
    },
    on(ev, fn) {
      (listeners[ev] = listeners[ev] || []).push(fn);
      if (ev === "ready" && readyData) fn(readyData);
      return () => (listeners[ev] = listeners[ev].filter((f) => f !== fn));
    },
  };

  const mount = () => {
    doc.body.appendChild(host);
    hello();
    arm();
  };
  if (doc.body) mount();
  else doc.addEventListener("DOMContentLoaded", mount);
}

if (boot && boot.siteKey && !w.Huike && doc.documentElement.attachShadow) start();
