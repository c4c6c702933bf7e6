// Chat settings: the colour picker and its hex field kept in step, and the live preview of
// the widget (an iframe of the real widget, reloaded with the form's unsaved values).
const form = document.getElementById("widget-form");
const picker = document.getElementById("color-picker");
const hex = form.elements.color;
const frame = document.getElementById("widget-preview");
const away = document.getElementById("preview-away");
const HEX = /^#[0-9a-f]{6}$/i;

const fromHex = () => HEX.test(hex.value.trim()) && (picker.value = hex.value.trim().toLowerCase());
picker.addEventListener("input", () => (hex.value = picker.value));
hex.addEventListener("input", fromHex);
fromHex();

// Whether the admin closed the chat in the preview: a reload keeps it so. Before its panel
// has loaded, the preview is as it was asked to be.
function previewClosed() {
  const host = frame.contentDocument && frame.contentDocument.querySelector("huike-widget");
  const panel = host && host.shadowRoot && host.shadowRoot.querySelector(".p");
  return panel ? panel.hidden : /[?&]closed=1/.test(frame.contentWindow.location.search);
}

let timer;
function refresh() {
  clearTimeout(timer); // one reload for what is typed and checked together
  const params = new URLSearchParams(new FormData(form));
  params.delete("csrf_token");
  if (previewClosed()) params.set("closed", "1");
  if (away.checked) params.set("away", "1");
  // replace: the preview's reloads stay out of the browser's history
  frame.contentWindow.location.replace(frame.dataset.src + "?" + params);
}

form.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(refresh, 250);
});
away.addEventListener("change", refresh);
refresh(); // a page sent back with a refused value shows what was typed
