// The Customers pages work without this script; it only makes them quicker to use.
const root = document.querySelector(".crm");
if (root) {
  root.classList.add("js");

  // "Older" on the timeline: append the next page in place instead of reloading the record.
  root.addEventListener("click", async (event) => {
    const link = event.target.closest(".tl-older a[data-fragment]");
    if (!link) return;
    event.preventDefault();
    link.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(link.dataset.fragment, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const page = document.createElement("template");
      page.innerHTML = await response.text();
      link.closest(".tl-older").replaceWith(page.content);
    } catch {
      window.location.href = link.href; // the plain page does the same
    }
  });

  // A change of owner is saved as soon as it is chosen.
  for (const select of root.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }

  // Deleting asks first.
  for (const form of root.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // Empty filters stay out of the address, so links to a filtered list read cleanly.
  const filters = root.querySelector("#filters");
  if (filters) {
    filters.addEventListener("submit", () => {
      for (const input of filters.querySelectorAll("input, select")) {
        if (input.name && !input.value) input.disabled = true;
      }
    });
    // coming back from the results (back button) must find the form usable again
    window.addEventListener("pageshow", () => {
      for (const input of filters.querySelectorAll(":disabled")) input.disabled = false;
    });
  }

  // The choices of a new custom field matter only for the kind "choice".
  const kind = root.querySelector("select[data-choices-toggle]");
  const choices = root.querySelector("[data-choices]");
  if (kind && choices) {
    const sync = () => {
      choices.hidden = kind.value !== "choice";
    };
    kind.addEventListener("change", sync);
    sync();
  }
}
