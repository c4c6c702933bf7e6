import { test } from "node:test";
import assert from "node:assert/strict";

// Just enough of a document to see what linkify builds: text nodes and <a> elements.
globalThis.document = {
  documentElement: { lang: "en", dataset: {} },
  getElementById: () => null,
  createTextNode: (text) => ({ text }),
  createElement: (tag) => ({
    tag,
    attrs: {},
    setAttribute(name, value) {
      this.attrs[name] = value;
    },
  }),
};
globalThis.location = new URL("https://huike.example/console/conversations");
const { linkify } = await import("../../console/format.js");
const shape = (nodes) => nodes.map((n) => (n.tag ? { a: n.textContent, ...n.attrs } : n.text));

test("http(s) URLs become links that open apart; the rest stays text", () => {
  assert.deepEqual(shape(linkify("See https://shop.example/t?id=7. Thanks")), [
    "See ",
    { a: "https://shop.example/t?id=7", href: "https://shop.example/t?id=7", target: "_blank", rel: "noopener noreferrer" },
    ". Thanks",
  ]);
  assert.deepEqual(shape(linkify("看这里https://shop.cn/a。谢谢")), [
    "看这里",
    { a: "https://shop.cn/a", href: "https://shop.cn/a", target: "_blank", rel: "noopener noreferrer" },
    "。谢谢",
  ]);
});

test("javascript:, data: and bare words are never links", () => {
  for (const text of ["javascript:alert(1)", "data:text/html,<b>x</b>", "www.shop.example", "https://"]) {
    assert.deepEqual(shape(linkify(text)), [text]);
  }
  assert.deepEqual(shape(linkify('x <a href="javascript:alert(1)">y</a>')), ['x <a href="javascript:alert(1)">y</a>']);
});
