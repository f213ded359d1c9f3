// Runs every benchmark in bench/ (files named *.bench.mjs), prints their tables and writes JSON to bench/results/.
// Usage: npm run bench [-- name-filter ...]
// A bench module exports `default async function (ctx)` returning one table or an array of tables:
//   { title: string, columns: string[], rows: (string|number)[][], notes?: string[] }
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

function formatCell(v) {
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const abs = Math.abs(v);
  return v.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
}

function printTable(t) {
  const cells = [t.columns, ...t.rows.map((r) => r.map(formatCell))];
  const widths = t.columns.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r) => `| ${r.map((c, i) => String(c ?? '').padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n### ${t.title}\n`);
  console.log(line(t.columns));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
  for (const n of t.notes ?? []) console.log(`\n${n}`);
}

const machine = {
  node: process.version,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
};
console.log(`Switchyard benchmarks on ${machine.cpu} (${machine.cpus} cores), Node ${machine.node}`);
const results = [];
let failed = 0;
for (const f of files) {
  const mod = await import(pathToFileURL(join(here, f)).href);
  try {
    const out = await mod.default({ machine });
    for (const t of Array.isArray(out) ? out : [out]) {
      printTable(t);
      results.push({ file: f, ...t });
    }
  } catch (err) {
    failed++;
    console.error(`\n${f} failed: ${err?.stack ?? err}`);
  }
}
mkdirSync(join(here, 'results'), { recursive: true });
const out = join(here, 'results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2)}\n`);
console.log(`\nwrote ${out}`);
process.exitCode = failed ? 1 : 0;
