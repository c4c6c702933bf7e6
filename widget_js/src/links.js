// Links in chat text, for the widget's panel and the console: the text split into strings and
// {href, text} parts that the caller builds as DOM nodes (text nodes and <a>), never as HTML.
// Only http(s) addresses become links; the punctuation that ends a sentence stays text.

// An address ends at a space, an HTML quote or bracket, or Chinese text written right after it.
const URL_RE = /\bhttps?:\/\/[^\s<>"'\u2e80-\uffff]+/gi;

/** "see https://a.cn/x." → ["see ", {href: "https://a.cn/x", text: "https://a.cn/x"}, "."] */
export function splitLinks(text) {
  const s = String(text == null ? "" : text);
  const parts = [];
  let at = 0;
  for (const m of s.matchAll(URL_RE)) {
    let url = m[0].replace(/[.,;:!?]+$/, "");
    // a closing bracket belongs to the address only when it opened one: "(see https://a.cn)"
    while (/[)\]]$/.test(url) && count(url, url.endsWith(")") ? "(" : "[") < count(url, url.slice(-1))) url = url.slice(0, -1);
    let href;
    try {
      const u = new URL(url);
      href = /^https?:$/.test(u.protocol) && u.hostname ? u.href : null;
    } catch (e) {
      href = null;
    }
    if (!href) continue;
    if (m.index > at) parts.push(s.slice(at, m.index));
    parts.push({ href, text: url });
    at = m.index + url.length;
  }
  if (at < s.length) parts.push(s.slice(at));
  return parts;
}

const count = (s, c) => s.split(c).length - 1;
