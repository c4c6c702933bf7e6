import { test } from "node:test";
import assert from "node:assert/strict";
import { globToRegExp, ruleMatches } from "../src/util.js";

test("glob: * matches anything, the rest is literal", () => {
  const re = globToRegExp("https://shop.example/checkout*");
  assert.ok(re.test("https://shop.example/checkout"));
  assert.ok(re.test("https://shop.example/checkout/step-2?x=1"));
  assert.ok(!re.test("https://shop.example/cart"));
  // regex metacharacters are not special
  assert.ok(globToRegExp("/a.b?c=(1)").test("/a.b?c=(1)"));
  assert.ok(!globToRegExp("/a.b").test("/axb"));
  assert.ok(!globToRegExp("/p?x=1").test("/px=1"));
});

test("rule patterns: full URL, path, path+query, host+path", () => {
  const url = "https://shop.example/checkout/pay?order=7#top";
  assert.ok(ruleMatches("*checkout*", url));
  assert.ok(ruleMatches("/checkout*", url));
  assert.ok(ruleMatches("/checkout/pay", url)); // the path alone
  assert.ok(ruleMatches("shop.example/checkout/*", url));
  assert.ok(ruleMatches("https://shop.example/*", url));
  assert.ok(ruleMatches("*order=7*", url));
  assert.ok(ruleMatches("/CHECKOUT*", url), "case-insensitive");
  assert.ok(!ruleMatches("/cart*", url));
  assert.ok(!ruleMatches("https://other.example/*", url));
  assert.ok(!ruleMatches("checkout", url), "no implicit wildcards");
});

test("empty / * / missing pattern matches every page", () => {
  for (const p of ["", "*", "  ", null, undefined]) assert.ok(ruleMatches(p, "https://shop.example/x"), String(p));
});

test("hash routers", () => {
  assert.ok(ruleMatches("/#/checkout*", "https://shop.example/#/checkout/1"));
  assert.ok(!ruleMatches("/#/checkout*", "https://shop.example/#/cart"));
});

test("an unparsable URL only matches on the whole string", () => {
  assert.ok(ruleMatches("*abc*", "not a url abc"));
  assert.ok(!ruleMatches("/x*", "not a url"));
});
