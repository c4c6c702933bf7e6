// The console's side menu as a drawer below desktop width (huike.css, max-width 1023px): the top bar's
// menu button opens it; Esc, a tap outside, or focus leaving it closes it. On a wider screen the
// button is not shown and the menu is the sidebar it always was.
const button = document.getElementById("menu-button");
const drawer = document.getElementById("console-nav");
const backdrop = document.getElementById("nav-backdrop");
const drawerWidth = matchMedia("(max-width: 1023px)");

function isOpen() {
  return button.getAttribute("aria-expanded") === "true";
}

function setOpen(open, { restoreFocus = true } = {}) {
  if (open === isOpen()) return;
  button.setAttribute("aria-expanded", String(open));
  document.body.classList.toggle("nav-open", open);
  backdrop.hidden = !open;
  if (open) (drawer.querySelector("[aria-current]") || drawer.querySelector("a, button")).focus();
  else if (restoreFocus) button.focus();
}

if (button && drawer && backdrop) {
  button.addEventListener("click", () => setOpen(!isOpen()));
  backdrop.addEventListener("click", () => setOpen(false));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && isOpen()) setOpen(false);
  });
  drawer.addEventListener("focusout", (e) => {
    if (isOpen() && e.relatedTarget && !drawer.contains(e.relatedTarget) && e.relatedTarget !== button) setOpen(false, { restoreFocus: false });
  });
  // grown past the phone layout while open (a tablet turned): no drawer state left behind
  drawerWidth.addEventListener("change", (e) => {
    if (!e.matches) setOpen(false, { restoreFocus: false });
  });
}

// Below desktop width a wide table scrolls inside its own box: the page itself never gets wider than the screen.
if (drawerWidth.matches) {
  for (const table of document.querySelectorAll(".console-main table")) {
    if (table.closest(".table-scroll, .visitors-wrap")) continue;
    const box = document.createElement("div");
    box.className = "table-scroll";
    table.replaceWith(box);
    box.append(table);
  }
}
