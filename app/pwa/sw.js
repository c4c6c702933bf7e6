// Huike's service worker, served at /sw.js by app/pwa (its scope: the whole site).
// It keeps the console's shell — styles, scripts, icons and the offline page — and nothing
// else: the API, the sockets, uploads and the pages themselves always come from the network,
// so no conversation ever sits in a cache. It also shows the Web Push notifications app/push
// sends, and a click on one opens its conversation.
const BOOT = "__HUIKE_SW__";
const SHELL = new Set(BOOT.shell);
// Pages the offline page never stands in for: the widget's, the API's, the sockets'.
const NOT_PAGES = /^\/(w|api|socket\.io)\//;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(BOOT.cache)
      .then((cache) => cache.addAll([...BOOT.shell, BOOT.offline].map((url) => new Request(url, { cache: "no-cache" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith("huike-shell-") && name !== BOOT.cache) await caches.delete(name);
      // the page's request starts while the worker wakes up, not after
      if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
      await self.clients.claim(); // the page that registered it is served from now on
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) return;
  if (request.mode === "navigate" && !NOT_PAGES.test(url.pathname)) event.respondWith(pageOrOffline(event));
  else if (SHELL.has(url.pathname)) event.respondWith(fromShell(request));
  // anything else is not touched: the browser fetches it as if there were no worker
});

/** Pages: from the network, always; the offline page when it cannot be reached. */
async function pageOrOffline(event) {
  try {
    return (await event.preloadResponse) || (await fetch(event.request));
  } catch (_e) {
    const cache = await caches.open(BOOT.cache);
    return (await cache.match(BOOT.offline)) || Response.error();
  }
}

/** The shell: from this version's cache (a new version is a new worker), else the network. */
async function fromShell(request) {
  const cache = await caches.open(BOOT.cache);
  return (await cache.match(request)) || fetch(request);
}

self.addEventListener("push", (event) => event.waitUntil(showPush(event.data ? event.data.text() : "")));

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openConsole(event.notification.data && event.notification.data.url));
});

/** A push's notification. Its data is JSON {title, body, tag, url, timestamp} (app/push/);
 *  anything else still shows one, a generic one: Chrome wants a notification for every push. */
function showPush(text) {
  let push;
  try {
    push = JSON.parse(text);
  } catch (_e) {
    push = null;
  }
  if (!push || typeof push.title !== "string" || !push.title) push = BOOT.fallback;
  const tag = typeof push.tag === "string" ? push.tag : "";
  return self.registration.showNotification(push.title, {
    body: typeof push.body === "string" ? push.body : "",
    tag,
    renotify: Boolean(tag), // a newer message of the same chat replaces the last one, with sound
    timestamp: Number.isFinite(push.timestamp) ? push.timestamp : Date.now(),
    icon: BOOT.icon,
    badge: BOOT.badge,
    data: { url: ownPath(push.url) || BOOT.fallback.url },
  });
}

/** `url` when it is a path on this site ("/console/…"), else null: never somewhere else. */
function ownPath(url) {
  if (typeof url !== "string" || !url.startsWith("/")) return null;
  const resolved = new URL(url, location.origin); // "//host" and "/\host" resolve elsewhere
  return resolved.origin === location.origin ? resolved.pathname + resolved.search + resolved.hash : null;
}

/** A console window, brought forward and shown `url`; a new window when none is open. */
async function openConsole(url) {
  const target = new URL(ownPath(url) || BOOT.fallback.url, location.origin).href;
  const windows = await self.clients.matchAll({ type: "window" });
  const tab = windows.find((w) => w.url === target) || windows.find((w) => new URL(w.url).pathname.startsWith("/console/"));
  if (!tab) return self.clients.openWindow(target);
  // on the Conversations page only the "#c12" changes: the page opens that chat itself
  const shown = tab.url === target ? tab : await tab.navigate(target);
  return (shown || tab).focus();
}
