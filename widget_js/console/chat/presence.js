// The agent's own status (online, away, offline), the sound switch, and the alerts for a chat
// that wants them.
import { chime, notify, offerSound, toast } from "../alerts.js";
import { t } from "../i18n.js";
import { call } from "../socket.js";
import { openConversation } from "./conversation.js";
import { me, socket, ui } from "./page.js";

let soundOn = localStorage.getItem("huike:sound") !== "off";

export function drawStatus() {
  ui.statusSwitch.querySelectorAll("[data-status]").forEach((b) => {
    b.setAttribute("aria-checked", String(b.dataset.status === me.status));
  });
  ui.statusSwitch.dataset.status = me.status;
}

export function drawSound() {
  ui.sound.setAttribute("aria-pressed", String(soundOn));
  ui.sound.textContent = soundOn ? t("sound_on") : t("sound_off");
}

/** The chime, unless the agent turned the sound off. */
export function chimeIfWanted(kind) {
  if (soundOn) chime(kind);
}

/** A chime and a browser notification that opens the chat when clicked. */
export function attention(kind, title, body, convId) {
  chimeIfWanted(kind);
  notify(title, body, () => openConversation(convId), "huike-conv-" + convId);
}

let drawSoundHint = () => {};

export function listenToStatusAndSound() {
  drawSoundHint = offerSound(ui.soundHint, () => soundOn);
  ui.statusSwitch.querySelectorAll("[data-status]").forEach((b) =>
    b.addEventListener("click", async () => {
      const wanted = b.dataset.status;
      try {
        const answer = await call(socket, "status", { status: wanted });
        me.status = answer.status;
        drawStatus();
      } catch (e) {
        toast(e.message || t("error_generic"), "error");
      }
    })
  );
  ui.sound.addEventListener("click", () => {
    soundOn = !soundOn;
    localStorage.setItem("huike:sound", soundOn ? "on" : "off");
    drawSound();
    drawSoundHint();
    if (soundOn) chime();
  });
}
