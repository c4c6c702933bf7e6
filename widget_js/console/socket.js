// The console's Socket.IO connection to /agent (the client is the page's global `io`,
// app/static/vendor/socket.io.min.js): ONE per tab. The page's own script (chat, visitors) and
// the calls card (calls.js, a bundle of its own) share it through `window`, so an agent is one
// connection per tab however many parts of the page listen. The page's script runs first
// (its <script type="module"> comes before the layout's), so it hears the connect's snapshot.
import { toast } from "./alerts.js";
import { t } from "./i18n.js";

const SHARED = "huikeAgentSocket";
// The server pings every 25 s (python-engineio's default): a link silent for longer than this
// died while the page slept, however `connected` it still looks.
const SILENT_MS = 30000;

function open() {
  // eslint-disable-next-line no-undef
  const socket = io("/agent", { transports: ["websocket", "polling"] });
  socket.on("disconnect", (reason) => {
    // the server ended it: access was revoked (disabled, logged out, suspended); the page
    // itself says why (the login page, the suspended notice)
    if (reason === "io server disconnect") location.reload();
  });
  socket.on("connect_error", (err) => {
    const data = err && err.data;
    if (data && data.message) toast(data.message, "error");
  });
  socket.on("error", (e) => {
    if (e && e.message) toast(e.message, "error");
  });
  resumeWhenBack(socket);
  return socket;
}

/** A phone that woke up, a network that came back, a page restored from the back-forward cache:
 *  connect again now, not when the backoff's timer (up to 5 s) or a dead link's ping timeout
 *  (45 s) says so. The page then catches up as after any reconnect ("since seq"). */
function resumeWhenBack(socket) {
  let heard = Date.now();
  const alive = () => {
    heard = Date.now();
  };
  socket.on("connect", alive);
  socket.io.on("ping", alive);
  const resume = () => {
    if (document.visibilityState !== "visible") return;
    if (socket.connected && Date.now() - heard < SILENT_MS) return;
    socket.disconnect().connect(); // drops the pending retry and its wait
  };
  document.addEventListener("visibilitychange", resume);
  window.addEventListener("online", resume);
  window.addEventListener("pageshow", (e) => e.persisted && resume());
}

/** The tab's /agent socket; its connection state is reflected on `indicator` (an element). */
export function connect(indicator) {
  const socket = window[SHARED] || (window[SHARED] = open());
  if (!indicator) return socket;
  const show = (state) => {
    indicator.dataset.state = state;
    indicator.textContent = t("conn_" + state);
  };
  show(socket.connected ? "online" : "connecting");
  socket.on("connect", () => show("online"));
  socket.on("disconnect", () => show("offline"));
  socket.io.on("reconnect_attempt", () => show("connecting"));
  socket.on("connect_error", () => show("offline"));
  return socket;
}

/** Emit with an acknowledgement, as a promise (rejects after `ms` without an answer). */
export function call(socket, event, data, ms = 15000) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, data, (err, answer) => {
      if (err) reject({ error: "timeout", message: t("no_answer") });
      else if (answer && answer.error) reject(answer);
      else resolve(answer);
    });
  });
}
