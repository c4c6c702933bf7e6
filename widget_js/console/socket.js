// The live pages' Socket.IO connection to /agent (the client is the page's global `io`,
// app/static/vendor/socket.io.min.js).
import { toast } from "./alerts.js";
import { t } from "./i18n.js";

/** Connect to /agent; the connection state is reflected on `indicator` (an element). */
export function connect(indicator) {
  // eslint-disable-next-line no-undef
  const socket = io("/agent", { transports: ["websocket", "polling"] });
  const show = (state) => {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = t("conn_" + state);
  };
  show("connecting");
  socket.on("connect", () => show("online"));
  socket.on("disconnect", (reason) => {
    show("offline");
    // the server ended it: access was revoked (disabled, logged out, suspended); the page
    // itself says why (the login page, the suspended notice)
    if (reason === "io server disconnect") location.reload();
  });
  socket.io.on("reconnect_attempt", () => show("connecting"));
  socket.on("connect_error", (err) => {
    show("offline");
    const data = err && err.data;
    if (data && data.message) toast(data.message, "error");
  });
  socket.on("error", (e) => {
    if (e && e.message) toast(e.message, "error");
  });
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
