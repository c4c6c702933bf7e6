// Phone settings: copy buttons for webhook URLs and secrets (the element named by data-copy;
// data-copied is the page's word for done).
document.querySelectorAll("[data-copy]").forEach((button) => {
  const label = button.textContent;
  button.addEventListener("click", async () => {
    const source = document.querySelector(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
    } catch (e) {
      // no clipboard access (plain http): select it, for the browser's own copy
      const range = document.createRange();
      range.selectNodeContents(source);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      if (!document.execCommand("copy")) return;
    }
    button.textContent = button.dataset.copied;
    setTimeout(() => (button.textContent = label), 2000);
  });
});
