import { test } from "node:test";
import assert from "node:assert/strict";
import { pickLang, fmt, STRINGS, LOADER } from "../src/i18n.js";

test("config.lang wins, then <html lang>, then navigator.language", () => {
  assert.equal(pickLang("zh-CN", "en", "en-US"), "zh-CN");
  assert.equal(pickLang("en", "zh", "zh-CN"), "en");
  assert.equal(pickLang("", "zh-Hans", "en-US"), "zh-CN");
  assert.equal(pickLang(null, "", "zh-TW"), "zh-CN");
  assert.equal(pickLang(undefined, "  ", "en-GB"), "en");
});

test("zh* → zh-CN, anything else → en", () => {
  for (const l of ["zh", "ZH-cn", "zh-Hant-HK", "zh_CN"]) assert.equal(pickLang(l), "zh-CN", l);
  for (const l of ["en", "fr", "ja", "de-DE", "xx"]) assert.equal(pickLang(l), "en", l);
  assert.equal(pickLang(), "en");
  assert.equal(pickLang(null, undefined, ""), "en");
});

test("both languages have the same strings", () => {
  assert.deepEqual(Object.keys(STRINGS["zh-CN"]).sort(), Object.keys(STRINGS.en).sort());
  assert.deepEqual(Object.keys(LOADER["zh-CN"]).sort(), Object.keys(LOADER.en).sort());
  for (const lang of ["zh-CN", "en"]) for (const [k, v] of Object.entries(STRINGS[lang])) assert.ok(v.trim(), `${lang}.${k}`);
});

test("fmt fills {placeholders} and leaves unknown ones", () => {
  assert.equal(fmt(STRINGS.en.typing, { name: "Lin" }), "Lin is typing…");
  assert.equal(fmt(STRINGS["zh-CN"].typing, { name: "小林" }), "小林正在输入…");
  assert.equal(fmt("{a} {b}", { a: 1 }), "1 {b}");
});
