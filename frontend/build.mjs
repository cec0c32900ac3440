// Bundles src/ into the Python package's static/ directory: hashed assets + index.html.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { basename } from 'node:path';
import { uplotLazyIntl } from './uplot-lazy-intl.mjs';

const out = new URL('../src/watchkeeper/dashboard/static/', import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out + 'assets', { recursive: true });

const common = {
  bundle: true,
  minify: true,
  target: ['es2020'],
  outdir: out + 'assets',
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  plugins: [uplotLazyIntl],
};
const outputsOf = (result) => Object.keys(result.metafile.outputs).map((p) => basename(p));
const app = outputsOf(await build({ ...common, entryPoints: ['src/main.js'], format: 'esm' }));
// the boot script is inlined: it runs while the page is parsed, before any asset arrives
// (the server allows it by its hash in the Content-Security-Policy)
const boot = (await build({ ...common, entryPoints: ['src/boot.js'], format: 'iife', write: false }))
  .outputFiles[0].text.trim();
if (boot.includes('</')) throw new Error('the boot script cannot be inlined: it holds "</"');
const js = app.find((f) => f.endsWith('.js'));
const css = app.find((f) => f.endsWith('.css'));
const html = readFileSync('src/index.html', 'utf8')
  .replace('%BOOT%', boot)
  .replace('%JS%', `assets/${js}`)
  .replace('%CSS%', `assets/${css}`);
writeFileSync(out + 'index.html', html);
// precompressed once here, so the server never gzips an asset per request
for (const name of [js, css]) {
  const path = `${out}assets/${name}`;
  writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
}
writeFileSync(out + '.gitattributes', 'assets/* -diff linguist-generated\n');
console.log(`built ${js} ${css}, boot script inlined (${boot.length} bytes)`);
