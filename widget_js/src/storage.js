// The visitor token, kept in the shop's origin: localStorage, cookie fallback
// when localStorage is missing or throws (Safari private mode, blocked storage, …).

const YEAR = 31536000;

function readCookie(doc, name) {
  try {
    const parts = String(doc.cookie || "").split(/;\s*/);
    for (const p of parts) {
      const i = p.indexOf("=");
      if (i > 0 && p.slice(0, i) === name) return decodeURIComponent(p.slice(i + 1)) || null;
    }
  } catch (e) {
    /* no cookies either */
  }
  return null;
}

function writeCookie(doc, loc, name, value, maxAge) {
  try {
    const secure = loc && loc.protocol === "https:" ? "; Secure" : "";
    doc.cookie = name + "=" + encodeURIComponent(value) + "; path=/; max-age=" + maxAge + "; SameSite=Lax" + secure;
  } catch (e) {
    /* nowhere to keep it: the visitor gets a new token per page */
  }
}

/**
 * tokenStore("huike:<siteKey>") → {get, set, clear}. `win` is injectable for tests:
 * it needs `localStorage` (whose mere access may throw), `document.cookie`, `location`.
 */
export function tokenStore(key, win = globalThis) {
  const cname = encodeURIComponent(key);
  const ls = () => win.localStorage;
  return {
    get() {
      try {
        const v = ls().getItem(key);
        if (v) return v;
      } catch (e) {
        /* fall back to the cookie */
      }
      return readCookie(win.document, cname);
    },
    set(v) {
      try {
        ls().setItem(key, v);
        return "localStorage";
      } catch (e) {
        writeCookie(win.document, win.location, cname, v, YEAR);
        return "cookie";
      }
    },
    clear() {
      try {
        ls().removeItem(key);
      } catch (e) {
        /* ignore */
      }
      if (readCookie(win.document, cname) != null) writeCookie(win.document, win.location, cname, "", 0);
    },
  };
}
