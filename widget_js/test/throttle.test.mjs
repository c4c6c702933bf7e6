import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { throttle } from "../src/util.js";

test("at most one call per window, first at once, the latest value delivered last", () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  try {
    const calls = [];
    const t = throttle((v) => calls.push([Date.now(), v]), 300);
    t("h");
    t("he");
    t("hel");
    assert.deepEqual(calls, [[1_000_000, "h"]]);
    mock.timers.tick(299);
    assert.equal(calls.length, 1);
    mock.timers.tick(1);
    assert.deepEqual(calls[1], [1_000_300, "hel"], "trailing call with the latest args");
    // typing continuously for 2 s: never more than one call per 300 ms
    for (let i = 0; i < 200; i++) {
      t("x" + i);
      mock.timers.tick(10);
    }
    mock.timers.tick(300);
    const times = calls.map((c) => c[0]);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 300, `gap ${times[i] - times[i - 1]}`);
    assert.equal(calls.at(-1)[1], "x199", "the final state is always sent");
  } finally {
    mock.timers.reset();
  }
});

test("an empty draft after sending goes out (and after the window if needed)", () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  try {
    const sent = [];
    const t = throttle((v) => sent.push(v), 300);
    t("hello");
    mock.timers.tick(100);
    t(""); // message sent → clear the preview
    assert.deepEqual(sent, ["hello"]);
    mock.timers.tick(200);
    assert.deepEqual(sent, ["hello", ""]);
  } finally {
    mock.timers.reset();
  }
});

test("after a quiet period the next call runs at once; cancel drops the trailing call", () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  try {
    const sent = [];
    const t = throttle((v) => sent.push(v), 300);
    t(1);
    mock.timers.tick(1000);
    t(2);
    assert.deepEqual(sent, [1, 2]);
    t(3);
    t.cancel();
    mock.timers.tick(1000);
    assert.deepEqual(sent, [1, 2]);
  } finally {
    mock.timers.reset();
  }
});
