import { test } from "node:test";
import assert from "node:assert/strict";

// The console's shared modules read the page when they load: its language and its #i18n strings.
const strings = { image: "图片", handled_by: "由 %(name)s 接待", source_baidu: "百度" };
globalThis.document = {
  documentElement: { lang: "en-US", dataset: { timezone: "Asia/Shanghai" } }, // the shop's zone
  getElementById: (id) => (id === "i18n" ? { textContent: JSON.stringify(strings) } : null),
};
globalThis.location = new URL("https://huike.example/console/conversations");
const { clockTime, dateOnly, dayOf, duration, fileSize, fullTime, initial, isToday, localUrl, parseTime, safeUrl, shortTime, shortUrl } = await import("../../console/format.js");
const { sourceName, t } = await import("../../console/i18n.js");
const { onSite, timeOnSite } = await import("../../console/visit.js");
const plain = (s) => s.replace(/\s/g, " "); // ICU may put a narrow no-break space before "AM"

test("duration: m:ss under an hour, h:mm:ss from one; never negative", () => {
  assert.equal(duration(75), "1:15");
  assert.equal(duration(3700), "1:01:40");
  assert.equal(duration(59.9), "0:59");
  assert.equal(duration(-5), "0:00");
});

test("fileSize: bytes, whole KB, MB with one decimal; nothing for no size", () => {
  assert.equal(fileSize(0), "0 B");
  assert.equal(fileSize(1023), "1023 B");
  assert.equal(fileSize(2048), "2 KB");
  assert.equal(fileSize(1.5 * 1024 * 1024), "1.5 MB");
  assert.equal(fileSize(undefined), "");
});

test("shortUrl: host and path without the scheme or a lone slash; not a URL, as given", () => {
  assert.equal(shortUrl("https://shop.example/"), "shop.example");
  assert.equal(shortUrl("https://shop.example/tea?id=3"), "shop.example/tea?id=3");
  assert.equal(shortUrl("not a url"), "not a url");
  assert.equal(shortUrl(undefined), "");
});

test("safeUrl lets only http(s) into an href; localUrl only this origin's paths", () => {
  assert.equal(safeUrl("javascript:alert(1)"), null);
  assert.equal(safeUrl("data:text/html,<b>x</b>"), null);
  assert.equal(safeUrl("/tea"), "https://huike.example/tea");
  assert.equal(safeUrl("http://shop.example/p"), "http://shop.example/p");
  assert.equal(safeUrl(42), null);
  assert.equal(localUrl("/w/files/3"), "/w/files/3");
  assert.equal(localUrl("https://huike.example/w/files/3?d=1"), "/w/files/3?d=1");
  assert.equal(localUrl("https://other.example/w/files/3"), null);
  assert.equal(localUrl("javascript:alert(1)"), null);
});

test("times: the clock today, the day before today; nothing for a missing or bad time", () => {
  assert.equal(parseTime(""), null);
  assert.equal(parseTime("soon"), null);
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  const morning = new Date(`${today}T09:05:00+08:00`);
  assert.equal(plain(clockTime(morning.toISOString())), "09:05 AM");
  assert.equal(plain(shortTime(morning.toISOString())), "09:05 AM");
  assert.ok(isToday(morning.toISOString()) && !isToday("2025-11-21T04:00:00Z") && !isToday(null));
  const before = "2025-11-21T04:00:00Z";
  assert.equal(shortTime(before), "Nov 21");
  assert.equal(plain(fullTime(before)), "Nov 21, 2025, 12:00 PM");
  assert.equal(shortTime("soon"), "");
  assert.equal(fullTime(null), "");
});

test("times are the shop's wall clock, whatever the zone of the computer showing them", () => {
  // 22:17 UTC on the 6th is 06:17 on the 7th in Shanghai: the day and the hour both move.
  for (const zone of ["UTC", "America/New_York", "Asia/Shanghai"]) {
    process.env.TZ = zone;
    assert.equal(plain(clockTime("2026-12-06T22:17:00Z")), "06:17 AM");
    assert.equal(plain(fullTime("2026-12-06T22:17:00Z")), "Dec 7, 2026, 6:17 AM");
    assert.equal(dayOf("2026-12-06T22:17:00Z"), "2026-12-07"); // the chat's day line
    assert.equal(dateOnly("2026-12-06T22:17:00Z"), "Dec 7, 2026");
    assert.equal(dayOf("2026-12-06T15:59:00Z"), "2026-12-06");
  }
});

test("initial: the first letter, upper case; an id's first digit; ? for no name", () => {
  assert.equal(initial("li wei"), "L");
  assert.equal(initial("#12"), "1");
  assert.equal(initial("  "), "?");
  assert.equal(initial(null), "?");
});

test("t: the page's string with its placeholders filled; an unknown key as itself", () => {
  assert.equal(t("image"), "图片");
  assert.equal(t("handled_by", { name: "Ann" }), "由 Ann 接待");
  assert.equal(t("handled_by", {}), "由  接待");
  assert.equal(t("no_such_key"), "no_such_key");
});

test("sourceName: a known source by its page string, an unknown one as sent, none as a dash", () => {
  assert.equal(sourceName("baidu"), "百度");
  assert.equal(sourceName("weibo"), "weibo");
  assert.equal(sourceName(""), "—");
});

test("a visitor is on the site for 70 s after they were last seen; their time stops when they leave", () => {
  const now = Date.parse("2026-12-01T10:00:00Z");
  const visit = (seenSecondsAgo) => ({
    visit_started_at: "2026-12-01T09:50:00Z",
    last_seen_at: new Date(now - seenSecondsAgo * 1000).toISOString(),
  });
  assert.equal(onSite(visit(69), now), true);
  assert.equal(onSite(visit(71), now), false);
  assert.ok(!onSite({}, now));
  assert.equal(timeOnSite(visit(10), now), "10:00");
  assert.equal(timeOnSite(visit(120), now), "8:00");
  assert.equal(timeOnSite({ last_seen_at: "2026-12-01T09:59:00Z" }, now), "");
});
