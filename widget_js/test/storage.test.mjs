import { test } from "node:test";
import assert from "node:assert/strict";
import { tokenStore } from "../src/storage.js";

// A minimal cookie jar behaving like document.cookie (name=value; attributes; max-age=0 deletes).
function jar() {
  const c = new Map();
  const writes = [];
  return {
    writes,
    get cookie() {
      return [...c].map(([k, v]) => k + "=" + v).join("; ");
    },
    set cookie(s) {
      writes.push(s);
      const [pair, ...attrs] = s.split(/;\s*/);
      const i = pair.indexOf("=");
      const name = pair.slice(0, i);
      if (attrs.some((a) => /^max-age=0$/i.test(a))) c.delete(name);
      else c.set(name, pair.slice(i + 1));
    },
  };
}

function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
    m,
  };
}

test("localStorage when it works", () => {
  const ls = memoryStorage();
  const document = jar();
  const s = tokenStore("huike:abc", { localStorage: ls, document });
  assert.equal(s.get(), null);
  s.set("tok-1");
  assert.equal(ls.m.get("huike:abc"), "tok-1");
  assert.equal(document.cookie, "", "no cookie written");
  assert.equal(s.get(), "tok-1");
  s.clear();
  assert.equal(s.get(), null);
});

test("cookie fallback when merely touching localStorage throws (blocked storage)", () => {
  const document = jar();
  const win = {
    get localStorage() {
      throw new Error("SecurityError");
    },
    document,
  };
  const s = tokenStore("huike:abc", win);
  assert.equal(s.get(), null);
  s.set("tok/2+=;x");
  assert.match(document.writes[0], /^huike%3Aabc=tok%2F2%2B%3D%3Bx; path=\/; max-age=31536000; SameSite=Lax$/);
  assert.equal(s.get(), "tok/2+=;x", "value round-trips through encodeURIComponent");
  // a second store (next page) reads it back
  assert.equal(tokenStore("huike:abc", win).get(), "tok/2+=;x");
  s.clear();
  assert.equal(s.get(), null);
});

test("cookie fallback when setItem throws (quota / Safari private mode)", () => {
  const document = jar();
  const ls = memoryStorage();
  ls.setItem = () => {
    throw new Error("QuotaExceededError");
  };
  const s = tokenStore("huike:abc", { localStorage: ls, document });
  s.set("tok-3");
  assert.equal(s.get(), "tok-3");
});

test("site keys do not see each other's tokens; similar names do not collide", () => {
  const document = jar();
  const win = {
    get localStorage() {
      throw new Error("nope");
    },
    document,
  };
  tokenStore("huike:ab", win).set("A");
  tokenStore("huike:abc", win).set("B");
  document.cookie = "xhuike%3Aab=evil; path=/";
  assert.equal(tokenStore("huike:ab", win).get(), "A");
  assert.equal(tokenStore("huike:abc", win).get(), "B");
  assert.equal(tokenStore("huike:zz", win).get(), null);
});

test("no storage at all: get() is null and set() does not throw", () => {
  const win = {
    get localStorage() {
      throw new Error("nope");
    },
    get document() {
      throw new Error("nope");
    },
  };
  const s = tokenStore("huike:abc", win);
  assert.doesNotThrow(() => s.set("x"));
  assert.equal(s.get(), null);
  assert.doesNotThrow(() => s.clear());
});
