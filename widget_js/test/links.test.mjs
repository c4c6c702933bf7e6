import { test } from "node:test";
import assert from "node:assert/strict";
import { splitLinks } from "../src/links.js";

const link = (href, text = href) => ({ href, text });

test("plain text stays one string", () => {
  assert.deepEqual(splitLinks("你好，有货吗？"), ["你好，有货吗？"]);
  assert.deepEqual(splitLinks(""), []);
  assert.deepEqual(splitLinks(null), []);
});

test("an http(s) address becomes a link, the text around it stays text", () => {
  assert.deepEqual(splitLinks("see https://www.lintea.cn/tea?id=3 please"), [
    "see ",
    link("https://www.lintea.cn/tea?id=3"),
    " please",
  ]);
  assert.deepEqual(splitLinks("http://a.cn"), [link("http://a.cn/", "http://a.cn")]);
});

test("a sentence's punctuation and Chinese punctuation are not part of the address", () => {
  assert.deepEqual(splitLinks("look: https://a.cn/x."), ["look: ", link("https://a.cn/x"), "."]);
  assert.deepEqual(splitLinks("链接https://a.cn/x，谢谢。"), ["链接", link("https://a.cn/x"), "，谢谢。"]);
  assert.deepEqual(splitLinks("(see https://a.cn/x)"), ["(see ", link("https://a.cn/x"), ")"]);
  assert.deepEqual(splitLinks("https://en.wikipedia.org/wiki/Tea_(drink)"), [
    link("https://en.wikipedia.org/wiki/Tea_(drink)"),
  ]);
});

test("other schemes and markup never become links", () => {
  assert.deepEqual(splitLinks("javascript:alert(1)"), ["javascript:alert(1)"]);
  assert.deepEqual(splitLinks("data:text/html,<b>x</b>"), ["data:text/html,<b>x</b>"]);
  assert.deepEqual(splitLinks('<a href="https://a.cn">x</a>'), ['<a href="', link("https://a.cn/", "https://a.cn"), '">x</a>']);
  assert.deepEqual(splitLinks("ftp://a.cn/f"), ["ftp://a.cn/f"]);
});

test("several links", () => {
  const parts = splitLinks("https://a.cn and https://b.cn/p");
  assert.deepEqual(parts, [link("https://a.cn/", "https://a.cn"), " and ", link("https://b.cn/p")]);
});
