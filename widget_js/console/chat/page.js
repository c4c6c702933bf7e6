// The Conversations page as the server made it: its data, its elements, its /agent socket.
import { readJSON } from "../dom.js";
import { connect } from "../socket.js";

export const DATA = readJSON("page-data");
export const me = Object.assign({ status: "offline" }, DATA.me || {});
/** The shop's agents and their status: the snapshot replaces the list, `agent` events update it. */
export let agents = (DATA.agents || []).map((a) => Object.assign({ status: "offline" }, a));
export function setAgents(list) {
  agents = list;
}
export const groups = DATA.groups || [];
export const quickReplies = DATA.quick_replies || [];

const $ = (id) => document.getElementById(id);
export const ui = {
  conn: $("live-conn"),
  statusSwitch: $("status-switch"),
  sound: $("sound-toggle"),
  soundHint: $("sound-hint"),
  tabs: document.querySelectorAll("#conv-tabs [data-tab]"),
  count: { mine: $("count-mine"), queue: $("count-queue"), all: $("count-all") },
  list: $("conv-items"),
  listEmpty: $("conv-empty"),
  incoming: $("incoming"),
  chatEmpty: $("chat-empty"),
  chat: $("chat-main"),
  head: {
    name: $("chat-name"),
    returning: $("chat-returning"),
    status: $("chat-status"),
    page: $("chat-page"),
    assignee: $("chat-assignee"),
    take: $("btn-take"),
    transfer: $("btn-transfer"),
    close: $("btn-close"),
  },
  transfer: $("transfer-pop"),
  transferSelect: $("transfer-target"),
  transferGo: $("transfer-go"),
  transferCancel: $("transfer-cancel"),
  scroller: $("msgs"),
  msgList: $("msg-list"),
  msgPending: $("msg-pending"),
  draft: $("draft"),
  draftText: $("draft-text"),
  composer: $("composer"),
  input: $("composer-input"),
  noteToggle: $("note-toggle"),
  attach: $("attach-btn"),
  file: $("attach-file"),
  photo: $("photo-btn"),
  photoFile: $("photo-file"),
  qr: $("qr-pop"),
  qrList: $("qr-list"),
  readonly: $("chat-readonly"),
  readonlyText: $("chat-readonly-text"),
  panel: $("visitor-panel"),
};

export const socket = connect(ui.conn);
