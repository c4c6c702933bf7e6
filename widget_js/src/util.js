// Small pure helpers shared by the loader and the panel (unit-tested in test/).

const esc = (s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");

/** A `*` glob (anything, including "/") as an anchored, case-insensitive RegExp. */
export function globToRegExp(pattern) {
  return new RegExp("^" + String(pattern).split("*").map(esc).join(".*") + "$", "i");
}

/**
 * Does an invitation rule's pattern match this page URL?
 * The pattern is tried against the full URL, then (for patterns such as
 * "/checkout*" or "shop.com/cart*") against the path, path+query+hash and
 * host+path+query+hash. An empty pattern or "*" matches every page.
 */
export function ruleMatches(pattern, href) {
  const re = globToRegExp(String(pattern == null ? "" : pattern).trim() || "*");
  let u = { pathname: "", search: "", hash: "", host: "" };
  try {
    u = new URL(href);
  } catch (e) {
    /* only the full string then */
  }
  const rest = u.pathname + u.search + u.hash;
  return [href, u.pathname, rest, u.host + rest].some((x) => re.test(x));
}

/**
 * Throttle: `fn` runs at most once per `ms`. The first call runs at once; calls
 * inside the window are coalesced into one trailing call with the latest
 * arguments, so the last state is always delivered. `.cancel()` drops a
 * pending trailing call.
 */
export function throttle(fn, ms) {
  let last = -Infinity;
  let timer = null;
  let args;
  const run = () => {
    timer = null;
    last = Date.now();
    fn.apply(null, args);
  };
  const t = function () {
    args = arguments;
    if (timer) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  t.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return t;
}

/** A random id for client_id: crypto.randomUUID (secure contexts only) with fallbacks. */
export function uuid(c = globalThis.crypto) {
  if (c && c.randomUUID) {
    try {
      return c.randomUUID();
    } catch (e) {
      /* fall through */
    }
  }
  const b = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = (Math.random() * 256) | 0;
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}
