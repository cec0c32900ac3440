// Bundles src/ into the Python package's static/ directory: hashed assets + index.html.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { basename } from 'node:path';

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
};
const outputsOf = (result) => Object.keys(result.metafile.outputs).map((p) => basename(p));
// the app as one ES module; the boot script as a classic one that runs as soon as it arrives
const app = outputsOf(await build({ ...common, entryPoints: ['src/main.js'], format: 'esm' }));
const boot = outputsOf(await build({ ...common, entryPoints: ['src/boot.js'], format: 'iife' }))
  .find((f) => f.endsWith('.js'));
const js = app.find((f) => f.endsWith('.js'));
const css = app.find((f) => f.endsWith('.css'));
const html = readFileSync('src/index.html', 'utf8')
  .replace('%BOOT%', `assets/${boot}`)
  .replace('%JS%', `assets/${js}`)
  .replace('%CSS%', `assets/${css}`);
writeFileSync(out + 'index.html', html);
// precompressed once here, so the server never gzips an asset per request
for (const name of [boot, js, css]) {
  const path = `${out}assets/${name}`;
  writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
}
writeFileSync(out + '.gitattributes', 'assets/* -diff linguist-generated\n');
console.log(`built ${boot} ${js} ${css}`);
