import { test } from "node:test";
import assert from "node:assert/strict";
import { offerOf, checkCallback, callbackBody } from "../src/callback.js";
import { STRINGS } from "../src/i18n.js";

const S = STRINGS.en;

test("the callback is offered only when the shop's answer says so in full", () => {
  const offer = { enabled: true, countries: [{ code: "CN", name: "China" }], consent: "I agree" };
  assert.equal(offerOf(offer), offer);
  assert.equal(offerOf({ enabled: false }), null);
  assert.equal(offerOf({ error: "feature_locked", feature: "calls" }), null); // a Free shop
  assert.equal(offerOf({ ...offer, countries: [] }), null);
  assert.equal(offerOf({ ...offer, consent: "" }), null);
  assert.equal(offerOf(null), null);
});

test("every problem of the form at once, in the page's language", () => {
  assert.deepEqual(checkCallback({ phone: "", consent: false }, S), {
    phone: S.cbNeedPhone,
    consent: S.cbNeedConsent,
  });
  assert.deepEqual(checkCallback({ phone: "call me", consent: true }, S), { phone: S.badPhone });
  assert.deepEqual(checkCallback({ phone: "123", consent: true }, S), { phone: S.badPhone });
  assert.deepEqual(checkCallback({ phone: "138 0013 8000", consent: true }, S), {});
  assert.deepEqual(checkCallback({ phone: "+86 (21) 5000-0000", consent: true }, S), {});
  const zh = STRINGS["zh-CN"];
  assert.equal(checkCallback({ phone: "", consent: true }, zh).phone, "请填写您的电话号码");
});

test("the request carries the widget's keys and only what the visitor chose", () => {
  const base = { k: "sk", t: "tok", url: "https://shop.example/p", lang: "en" };
  assert.deepEqual(callbackBody({ phone: "13800138000", consent: true, country: "", at: "" }, base), {
    ...base,
    phone: "13800138000",
    consent: true,
  });
  assert.deepEqual(callbackBody({ phone: "91234567", consent: true, country: "HK", at: "2026-12-08T10:30" }, base), {
    ...base,
    phone: "91234567",
    consent: true,
    country: "HK",
    at: "2026-12-08T10:30",
  });
  // a ticked box is true, nothing else is consent
  assert.equal(callbackBody({ phone: "1", consent: "on" }, base).consent, false);
});
