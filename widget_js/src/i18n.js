// zh-CN and en. Language: config.lang, else <html lang>, else navigator.language;
// anything starting with "zh" → zh-CN, otherwise en.

export function pickLang(...candidates) {
  const c = candidates.find((x) => x && String(x).trim());
  return /^\s*zh/i.test(c) ? "zh-CN" : "en";
}

/** "{name} is typing" + {name: "Lin"} → "Lin is typing" */
export function fmt(s, vars) {
  return String(s).replace(/\{(\w+)\}/g, (m, k) => (vars && vars[k] != null ? vars[k] : m));
}

// The few strings the loader needs (kept apart so the loader stays tiny).
export const LOADER = {
  "zh-CN": { open: "在线客服", unread: "（{n} 条未读）" },
  en: { open: "Open chat", unread: " ({n} unread)" },
};

export const STRINGS = {
  "zh-CN": {
    title: "在线客服",
    close: "关闭",
    closeChat: "关闭在线客服",
    agent: "客服",
    connecting: "正在连接…",
    reconnecting: "网络已断开，正在重新连接…",
    online: "在线，通常几分钟内回复",
    queued: "正在为您接入客服，请稍候…",
    offline: "客服暂时不在线，请留言",
    ended: "本次会话已结束",
    typing: "{name}正在输入…",
    placeholder: "输入消息…",
    hint: "Enter 发送，Shift+Enter 换行",
    send: "发送",
    attach: "发送图片或文件",
    sending: "发送中…",
    uploading: "上传中…",
    failed: "未发送，点击重试",
    tooBig: "文件不能超过 {mb} MB",
    read: "已读",
    chooseGroup: "请选择咨询类型：",
    leaveTitle: "请留言",
    leaveIntro: "客服暂时不在线。请留下您的联系方式和问题，我们会尽快回复您。",
    name: "姓名",
    phone: "电话",
    email: "邮箱",
    message: "留言内容",
    submit: "提交留言",
    needName: "请填写您的姓名",
    needContact: "请至少填写电话或邮箱中的一项",
    needText: "请填写留言内容",
    leaveThanks: "留言成功！我们会尽快与您联系。",
    rateTitle: "请为本次服务打分",
    star: "{n} 星",
    comment: "还有什么想说的？（选填）",
    rateSubmit: "提交评价",
    rateThanks: "感谢您的评价！",
    rate_limited: "发送太频繁了，请稍候再试",
    too_long: "消息太长了",
    network: "网络错误，请稍后重试",
    generic: "出错了，请稍后重试",
    powered: "汇客 提供技术支持",
  },
  en: {
    title: "Chat with us",
    close: "Close",
    closeChat: "Close chat",
    agent: "Agent",
    connecting: "Connecting…",
    reconnecting: "Connection lost, reconnecting…",
    online: "Online, we usually reply in a few minutes",
    queued: "Waiting for an agent…",
    offline: "We're away, leave us a message",
    ended: "This conversation has ended",
    typing: "{name} is typing…",
    placeholder: "Type a message…",
    hint: "Enter to send, Shift+Enter for a new line",
    send: "Send",
    attach: "Send an image or a file",
    sending: "Sending…",
    uploading: "Uploading…",
    failed: "Not sent. Click to retry",
    tooBig: "Files up to {mb} MB can be sent",
    read: "Read",
    chooseGroup: "What can we help you with?",
    leaveTitle: "Leave us a message",
    leaveIntro: "We're not online right now. Leave your contact details and question and we'll get back to you soon.",
    name: "Name",
    phone: "Phone",
    email: "E-mail",
    message: "Message",
    submit: "Send message",
    needName: "Please give your name",
    needContact: "Please give a phone number or an e-mail address",
    needText: "Please write a message",
    leaveThanks: "Thank you! We'll get back to you soon.",
    rateTitle: "How was this chat?",
    star: "{n} of 5 stars",
    comment: "Anything else to tell us? (optional)",
    rateSubmit: "Send rating",
    rateThanks: "Thank you for your feedback!",
    rate_limited: "You're sending too fast. Please wait a moment.",
    too_long: "That message is too long",
    network: "Network error, please try again",
    generic: "Something went wrong, please try again",
    powered: "Powered by Huike",
  },
};
