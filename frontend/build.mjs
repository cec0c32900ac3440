// Bundles src/ into the Python package's static/ directory: hashed assets + index.html.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { basename } from 'node:path';

const out = new URL('../src/watchkeeper/dashboard/static/', import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out + 'assets', { recursive: true });

const result = await build({
  entryPoints: ['src/main.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  outdir: out + 'assets',
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
const html = readFileSync('src/index.html', 'utf8')
  .replace('%JS%', `assets/${js}`)
  .replace('%CSS%', `assets/${css}`);
writeFileSync(out + 'index.html', html);
// precompressed once here, so the server never gzips an asset per request
for (const name of [js, css]) {
  const path = `${out}assets/${name}`;
  writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
}
writeFileSync(out + '.gitattributes', 'assets/* -diff linguist-generated\n');
console.log(`built ${js} ${css}`);
