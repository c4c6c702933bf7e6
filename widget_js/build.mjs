// Build the widget (two minified IIFE bundles, es2018, into app/static/widget/) and the agent
// console's scripts (one minified ES module per page, into app/static/console/js/).
//   node build.mjs            (from widget_js/, or `make widget` from the repo root)
import * as esbuild from "esbuild";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, "../app/static/widget");
const consoleOutdir = path.resolve(here, "../app/static/console/js");
const BOOT = '"__HUIKE_BOOT__"';

// `import css from "./x.css"` → the minified stylesheet as a string (injected into the Shadow DOM).
const cssText = {
  name: "css-text",
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, async (a) => {
      const { code } = await esbuild.transform(await readFile(a.path, "utf8"), { loader: "css", minify: true });
      return { contents: code.trim(), loader: "text" };
    });
  },
};

await esbuild.build({
  absWorkingDir: here,
  entryPoints: { loader: "src/loader.js", panel: "src/panel.js" },
  outdir,
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2018",
  platform: "browser",
  legalComments: "none",
  charset: "utf8",
  define: { "process.env.NODE_ENV": '"production"' },
  plugins: [cssText],
  logLevel: "warning",
});

// The server substitutes the boot literal, quotes included: it must survive minification, once.
const loader = await readFile(path.join(outdir, "loader.js"), "utf8");
const n = loader.split(BOOT).length - 1;
if (n !== 1) {
  console.error(`build.mjs: loader.js must contain ${BOOT} exactly once, found ${n}`);
  process.exit(1);
}
console.log(`widget built → ${path.relative(process.cwd(), outdir) || "."}/{loader,panel}.js`);

// The console's pages load their script with <script type="module">: an ES module each, for
// the browsers agents use (es2020, the syntax its sources are written in).
await esbuild.build({
  absWorkingDir: here,
  entryPoints: { chat: "console/chat.js", visitors: "console/visitors.js", crm: "console/crm.js", calls: "console/calls.js", tasks: "console/tasks.js", push: "console/push.js", nav: "console/nav.js" },
  outdir: consoleOutdir,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  platform: "browser",
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
});
console.log(`console built → ${path.relative(process.cwd(), consoleOutdir)}/{chat,visitors,crm,calls,tasks,push,nav}.js`);
