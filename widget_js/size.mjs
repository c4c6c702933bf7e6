// Measure the built widget gzipped (zlib level 9), record it in docs/BENCHMARKS.md
// (section "## Widget size", replaced in place), fail if a budget is exceeded.
//   make widget && node widget_js/size.mjs
import { readFile, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..");
const out = path.join(repo, "app/static/widget");
const bench = path.join(repo, "docs/BENCHMARKS.md");
const LOADER_BUDGET = 3 * 1024;
const TOTAL_BUDGET = 30 * 1024;

const measure = async (f) => {
  const raw = await readFile(path.join(out, f));
  return { raw: raw.length, gz: gzipSync(raw, { level: 9 }).length };
};
let loader, panel;
try {
  [loader, panel] = await Promise.all([measure("loader.js"), measure("panel.js")]);
} catch (e) {
  console.error("size.mjs: build the widget first (make widget): " + e.message);
  process.exit(2);
}
const total = loader.gz + panel.gz;
// As served: the server inlines {base, siteKey, config} with only what the button needs
// (app/chat/widget.py loader_config); greeting, groups and rules come with the first hello.
const sampleBoot = JSON.stringify({
  siteKey: "sk_3f9a1c2b7d4e5f60",
  config: {
    color: "#1f6feb",
    ink: "#fff",
    lang: "zh-CN",
    style: "--hk:#1f6feb;--hkt:#fff;--hkr:20px;--hkb:20px",
  },
});
const served = gzipSync(
  (await readFile(path.join(out, "loader.js"), "utf8")).replace('"__HUIKE_BOOT__"', sampleBoot),
  { level: 9 }
).length;
const kb = (n) => (n / 1024).toFixed(1) + " KB";
// the budget is what a page view pays: the loader as served, config inlined
const okLoader = served <= LOADER_BUDGET;
const okTotal = total <= TOTAL_BUDGET;

const section = `## Widget size

Measured by \`make widget && node widget_js/size.mjs\` (esbuild, minified IIFE, es2018; gzip level 9
with node's zlib) on ${new Date().toISOString().slice(0, 10)}.

| file | minified | gzipped | budget |
|---|---:|---:|---|
| \`loader.js\` (button, token, page views, pings, invitation rules, \`Huike.identify\`) | ${loader.raw} B | ${loader.gz} B (${kb(loader.gz)}) | — |
| \`loader.js\` as served, with its config inlined (colour, text colour, language) | — | **${served} B** (${kb(served)}) | ≤ 3 KB (${LOADER_BUDGET} B) ${okLoader ? "✅" : "❌"} |
| \`panel.js\` (chat panel + socket.io-client) | ${panel.raw} B | **${panel.gz} B** (${kb(panel.gz)}) | — |
| **total to open the panel and chat** | ${loader.raw + panel.raw} B | **${total} B** (${kb(total)}) | ≤ 30 KB (${TOTAL_BUDGET} B) ${okTotal ? "✅" : "❌"} |

For reference, the widgets of other vendors (gzipped, as loaded to open a chat): Crisp ~130 KB,
Intercom ~210 KB, Chatwoot ~170 KB. The loader alone is what every page view pays; the panel is
fetched only on hover / focus / click, an invitation or an unread reply.
`;

let doc = "";
try {
  doc = await readFile(bench, "utf8");
} catch (e) {
  doc = "# Benchmarks\n";
}
const start = doc.search(/^## Widget size[ \t]*$/m);
if (start >= 0) {
  const rest = doc.slice(start + 1);
  const next = rest.search(/^## /m);
  const end = next >= 0 ? start + 1 + next : doc.length;
  doc = doc.slice(0, start) + section + (end < doc.length ? "\n" + doc.slice(end) : "");
} else {
  doc = doc.replace(/\s*$/, "\n\n") + section;
}
await writeFile(bench, doc);

console.log(`loader.js ${served} B gz as served with a typical config (budget ${LOADER_BUDGET}; ${loader.gz} B bare)  panel.js ${panel.gz} B gz  total ${total} B gz (budget ${TOTAL_BUDGET})`);
console.log(`written to ${path.relative(process.cwd(), bench)}`);
if (!okLoader || !okTotal) {
  console.error("widget size budget exceeded");
  process.exit(1);
}
