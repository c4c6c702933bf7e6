// Tells the server whether this tab is in sight: an agent looking at the console hears of
// news here, not on their phone too (app/push/service.py). Said again on every (re)connect,
// in the handshake itself, before the server hands this agent the waiting chats.
import { socket } from "./page.js";

const inSight = () => document.visibilityState === "visible";

export function reportView() {
  socket.auth = (answer) => answer({ visible: inSight() });
  document.addEventListener("visibilitychange", () => {
    if (socket.connected) socket.emit("view", { visible: inSight() });
  });
}
