// The profile's "this device" switch: subscribe this browser to Web Push (the service worker
// at /sw.js shows the notices) and tell the server, or undo both. Server: app/push/views.py.
import { readJSON } from "./dom.js";
import { t } from "./i18n.js";

const DATA = readJSON("push-data");
const box = document.getElementById("push-this-device");
const state = box.querySelector("[data-state]");
const on = box.querySelector("[data-on]");
const off = box.querySelector("[data-off]");

function say(key, buttons = {}) {
  state.textContent = t(key);
  on.hidden = !buttons.on;
  off.hidden = !buttons.off;
}

function keyBytes(base64url) {
  const raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function send(method, body) {
  const response = await fetch(DATA.subscriptions_url, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRFToken": DATA.csrf },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    throw new Error(answer.message || t("push_failed"));
  }
}

async function registration() {
  return (await navigator.serviceWorker.getRegistration("/")) || navigator.serviceWorker.register("/sw.js", { scope: "/" });
}

async function draw() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return say("push_unsupported");
  }
  if (Notification.permission === "denied") return say("push_blocked");
  const subscription = await (await registration()).pushManager.getSubscription();
  const known = subscription && DATA.endpoints.includes(subscription.endpoint);
  return known ? say("push_on", { off: true }) : say("push_off", { on: true });
}

on.addEventListener("click", async () => {
  on.disabled = true;
  try {
    if ((await Notification.requestPermission()) !== "granted") return say("push_blocked");
    const reg = await registration();
    await navigator.serviceWorker.ready;
    const old = await reg.pushManager.getSubscription();
    if (old) await old.unsubscribe(); // made with another key, or for someone else
    const subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(DATA.public_key) });
    await send("POST", subscription.toJSON());
    location.reload(); // the device's row, with its choices
  } catch (error) {
    say("push_failed", { on: true });
    state.textContent += " " + (error.message || "");
  } finally {
    on.disabled = false;
  }
});

off.addEventListener("click", async () => {
  off.disabled = true;
  try {
    const subscription = await (await registration()).pushManager.getSubscription();
    if (subscription) {
      await send("DELETE", { endpoint: subscription.endpoint });
      await subscription.unsubscribe();
    }
    location.reload();
  } catch (error) {
    say("push_failed", { off: true });
  } finally {
    off.disabled = false;
  }
});

draw().catch(() => say("push_unsupported"));
