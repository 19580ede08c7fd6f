// Build the workbench editors into webui/static/workbench/ (served at /static/workbench/...).
//
//   node build.mjs            minified, no source maps (what `make bundle` runs)
//   node build.mjs --dev      not minified, with external source maps
//
// Output: <kind>-editor.js and <kind>-editor.css for kind = bpmn, dmn, form; the icon fonts under fonts/,
// referenced relatively from the CSS; <file>.LEGAL.txt with the bundled packages' licence comments; and,
// written last, manifest.json listing every file with its size and SHA-256 (the server's sign that a
// complete bundle is there). Nothing is loaded from another host, ever.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, '..', 'webui', 'static', 'workbench');
const dev = process.argv.includes('--dev');
const KINDS = [ 'bpmn', 'dmn', 'form' ];

const [ major ] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`Node ${process.versions.node} is too old: install Node 20 or later.`);
  process.exit(1);
}

const started = Date.now();
await rm(outdir, { recursive: true, force: true });  // no stale fonts, and no manifest until done
await mkdir(outdir, { recursive: true });

await esbuild.build({
  absWorkingDir: here,
  entryPoints: KINDS.map((kind) => `src/${kind}-editor.js`),
  outdir,
  entryNames: '[name]',                 // the pages ask for bpmn-editor.js / bpmn-editor.css by name
  assetNames: 'fonts/[name]-[hash]',
  bundle: true,
  format: 'iife',                       // plain <script defer>; each entry sets its window.Yordam*Editor
  platform: 'browser',
  target: [ 'chrome109', 'edge109', 'firefox115', 'safari15.4' ],
  minify: !dev,
  sourcemap: dev ? 'external' : false,
  legalComments: 'linked',
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
  logLevel: 'warning'
});

// The manifest: every built file, its size and hash; per kind, the script and stylesheet to load.
const files = {};
for (const path of await walk(outdir)) {
  const content = await readFile(path);
  files[relative(outdir, path).split('\\').join('/')] = {
    bytes: content.length,
    sha256: createHash('sha256').update(content).digest('hex')
  };
}
const whole = createHash('sha256');
for (const name of Object.keys(files).sort()) {
  whole.update(`${name}\0${files[name].sha256}\0`);
}
const manifest = {
  hash: whole.digest('hex').slice(0, 16),
  built: new Date().toISOString(),
  entries: Object.fromEntries(KINDS.map((kind) => [ kind, { js: `${kind}-editor.js`, css: `${kind}-editor.css` } ])),
  files
};
await writeFile(join(outdir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

for (const kind of KINDS) {
  const size = (name) => (files[name] ? `${(files[name].bytes / 1024).toFixed(0)} KiB` : 'missing');
  console.log(`  ${kind}-editor.js ${size(`${kind}-editor.js`)}, ${kind}-editor.css ${size(`${kind}-editor.css`)}`);
}
console.log(`workbench bundle ${manifest.hash} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);


async function walk(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      found.push(...await walk(path));
    } else if ((await stat(path)).isFile()) {
      found.push(path);
    }
  }
  return found.sort();
}
