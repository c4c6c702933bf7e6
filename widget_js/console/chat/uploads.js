// Files for the open chat: the Attach and Photo buttons, paste, drop. Each is uploaded first, then sent as
// a message that carries it.
import { toast } from "../alerts.js";
import { t } from "../i18n.js";
import { noteMode, send } from "./composer.js";
import { DATA, me, ui } from "./page.js";
import { current } from "./state.js";
import { messageNode, scrollToBottom } from "./thread.js";

async function upload(file) {
  if (!current || current.readonly) return;
  if (DATA.upload_max_bytes && file.size > DATA.upload_max_bytes) return toast(DATA.too_big, "error");
  const conversationId = current.id;
  const image = /^image\//.test(file.type);
  const local = { kind: image ? "image" : "file", text: "", attachment: null };
  const placeholder = messageNode({ sender: noteMode ? "note" : "agent", agent_name: me.name, text: t("uploading", { name: file.name }) }, { sending: true });
  ui.msgPending.append(placeholder);
  scrollToBottom();
  const form = new FormData();
  form.append("file", file);
  try {
    const response = await fetch(DATA.upload_url, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { "X-CSRFToken": DATA.csrf, Accept: "application/json" },
    });
    const answer = await response.json().catch(() => ({}));
    placeholder.remove();
    if (!response.ok || !answer.attachment) {
      toast(answer.message || t("upload_failed"), "error");
      return;
    }
    if (!current || current.id !== conversationId) return;
    local.attachment = answer.attachment;
    send({ attachment_id: answer.attachment.id, note: noteMode || undefined }, local);
  } catch (_e) {
    placeholder.remove();
    toast(t("upload_failed"), "error");
  }
}

export function listenForFiles() {
  for (const [button, input] of [[ui.attach, ui.file], [ui.photo, ui.photoFile]]) {
    button.addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      [...(input.files || [])].forEach(upload);
      input.value = "";
    });
  }
  ui.input.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (files.length) {
      e.preventDefault();
      files.forEach(upload);
    }
  });
  ui.scroller.parentElement.addEventListener("dragover", (e) => {
    if (current && !current.readonly && e.dataTransfer?.types?.includes("Files")) e.preventDefault();
  });
  ui.scroller.parentElement.addEventListener("drop", (e) => {
    if (!current || current.readonly) return;
    const files = [...(e.dataTransfer?.files || [])];
    if (files.length) {
      e.preventDefault();
      files.forEach(upload);
    }
  });
}
