import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { uuid } from "../src/util.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("uuid: crypto.randomUUID, else getRandomValues, else Math.random — always a v4 UUID ≤ 64 chars", () => {
  assert.match(uuid(), UUID);
  assert.match(uuid({ getRandomValues: (b) => globalThis.crypto.getRandomValues(b) }), UUID); // http: (no randomUUID)
  assert.match(uuid(null), UUID);
  assert.match(
    uuid({
      randomUUID() {
        throw new Error("insecure context");
      },
    }),
    UUID
  );
  const many = new Set(Array.from({ length: 2000 }, () => uuid(null)));
  assert.equal(many.size, 2000);
});

test("the panel never parses strings as HTML", async () => {
  const src = await readFile(new URL("../src/panel.js", import.meta.url), "utf8");
  for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]) {
    assert.ok(!src.includes(sink), sink);
  }
  // the loader's only innerHTML is its static button markup
  const loader = await readFile(new URL("../src/loader.js", import.meta.url), "utf8");
  assert.equal(loader.split("innerHTML").length - 1, 1);
  assert.ok(loader.includes('const boot = "__HUIKE_BOOT__";'));
});
