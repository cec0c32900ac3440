// An esbuild plugin: uPlot builds an Intl.NumberFormat (and reads the time zone through an
// Intl.DateTimeFormat) the moment it is imported, which costs a page ~20 ms of ICU set-up
// before it can draw anything; the formatter only serves axis and legend values that our
// charts format themselves. Here both are built on first use instead. The build fails if
// a new uPlot no longer has these lines, so the patch never silently stops applying.
import { readFileSync } from 'node:fs';

const EDITS = [
  ["const numFormatter = new Intl.NumberFormat(domEnv ? nav.language : 'en-US');\nconst fmtNum = val => numFormatter.format(val);",
    "let numFormatter;\nconst fmtNum = val => (numFormatter ||= new Intl.NumberFormat(domEnv ? nav.language : 'en-US')).format(val);"],
  ['const localTz = new Intl.DateTimeFormat().resolvedOptions().timeZone;', 'let localTz;'],
  ['else if (tz == localTz)', 'else if (tz == (localTz ||= new Intl.DateTimeFormat().resolvedOptions().timeZone))'],
];

export const uplotLazyIntl = {
  name: 'uplot-lazy-intl',
  setup(build) {
    build.onLoad({ filter: /uPlot\.esm\.js$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      for (const [from, to] of EDITS) {
        if (!text.includes(from)) throw new Error(`uplot-lazy-intl: ${args.path} no longer has: ${from}`);
        text = text.replace(from, to);
      }
      return { contents: text, loader: 'js' };
    });
  },
};
