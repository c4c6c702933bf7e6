// The visitor token, kept in the shop's origin: localStorage, cookie fallback
// when localStorage is missing or throws (Safari private mode, blocked storage, …).

/**
 * tokenStore("huike:<siteKey>") → {get, set, clear}. `win` is injectable for tests:
 * it needs `localStorage` (whose mere access may throw) and `document.cookie`.
 */
export function tokenStore(key, win = globalThis) {
  const name = encodeURIComponent(key) + "=";
  const cookie = (v, age) => {
    try {
      win.document.cookie = name + encodeURIComponent(v) + "; path=/; max-age=" + age + "; SameSite=Lax";
    } catch (e) {
      /* nowhere to keep it: the visitor gets a new token per page */
    }
  };
  // localStorage[op + "Item"]: the value (or null) when it works, false when it throws
  const ls = (op, v) => {
    try {
      return win.localStorage[op + "Item"](key, v) || null;
    } catch (e) {
      return false;
    }
  };
  return {
    get() {
      const v = ls("get");
      if (v) return v;
      try {
        const c = ("; " + win.document.cookie).split("; " + name)[1];
        return c ? decodeURIComponent(c.split(";")[0]) || null : null;
      } catch (e) {
        return null;
      }
    },
    set: (v) => ls("set", v) === false && cookie(v, 31536000),
    clear() {
      ls("remove");
      cookie("", 0);
    },
  };
}
