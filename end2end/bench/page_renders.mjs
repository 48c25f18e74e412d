// Server-side page renders: what rendering each page on one render thread
// (the default) costs against rendering on tokio's workers
// (`--render-threads 0`), both servers started by this run on the same
// seeded data. Usage (after the release build, like the end2end tests):
//
//   node end2end/bench/page_renders.mjs
//   BENCH_SECONDS=3 BENCH_ROUNDS=4 BENCH_CLIENTS=1,16 node end2end/bench/page_renders.mjs
//
// Each round loads the pages for BENCH_SECONDS from BENCH_CLIENTS clients
// at once, on one server and then the other, so a slow moment of the
// machine lands on both. A static file served by the same server is the
// baseline. Loads that take over 10 s are counted as hung, not timed.
// Prints a table and writes page_renders.json under $CARGO_TARGET_DIR/bench
// (or target/bench).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../lib/config.mjs';
import { seedProject } from '../lib/seed.mjs';
import { Server, checkBuild } from '../lib/trainyard.mjs';
import { percentile } from './stats.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 4);
const CLIENTS = (process.env.BENCH_CLIENTS || '1,16').split(',').map(Number);
const STATIC = '/assets/favicon.svg';
const PAGES = [STATIC, '/', '/queue', '/devices', '/projects/demo', '/jobs/1'];
const HUNG_MS = 10_000;

/** Loads `PAGES` round-robin from `clients` loops for `seconds`; each sample is [page, ms | null]. */
async function burst(url, clients, seconds) {
  const samples = [];
  const end = performance.now() + seconds * 1000;
  const client = async (offset) => {
    for (let i = offset; performance.now() < end; i += 1) {
      const page = PAGES[i % PAGES.length];
      const started = performance.now();
      try {
        const response = await fetch(url + page, { signal: AbortSignal.timeout(HUNG_MS) });
        const body = await response.text();
        if (response.status !== 200 || (page !== STATIC && !body.includes('</html>'))) {
          throw new Error(`GET ${page}: ${response.status}`);
        }
        samples.push([page, performance.now() - started]);
      } catch {
        samples.push([page, null]);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, k) => client(k)));
  return samples;
}

async function main() {
  await checkBuild();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-'));
  const variants = [
    { name: 'render threads', args: [] },
    { name: 'tokio workers', args: ['--render-threads', '0'] },
  ];
  try {
    for (const v of variants) {
      v.server = await Server.start({ dataDir: path.join(scratch, v.name.replace(' ', '-')), extraArgs: v.args });
      await seedProject(v.server, { name: 'demo' });
      v.samples = Object.fromEntries(CLIENTS.map((c) => [c, []]));
      await burst(v.server.url, 2, 1); // warm-up, unmeasured
    }
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const clients of CLIENTS) {
        for (const v of variants) v.samples[clients].push(...(await burst(v.server.url, clients, SECONDS)));
      }
    }
    const rows = [];
    for (const clients of CLIENTS) {
      for (const page of PAGES) {
        const row = { clients, page };
        for (const v of variants) {
          const mine = v.samples[clients].filter(([p]) => p === page);
          const ms = mine.map(([, t]) => t).filter((t) => t !== null);
          row[v.name] = {
            loads: ms.length,
            hung: mine.length - ms.length,
            perSecond: ms.length / (ROUNDS * SECONDS),
            p50: percentile(ms, 50),
            p99: percentile(ms, 99),
          };
        }
        rows.push(row);
      }
    }
    console.log(`page renders, ${ROUNDS} rounds × ${SECONDS} s per client count, release build (ms; loads/s; hung = over ${HUNG_MS / 1000} s)`);
    console.log('clients page              render threads: p50    p99   /s  hung | tokio workers: p50    p99   /s  hung | p50 ratio');
    for (const r of rows) {
      const cell = (s) => `${s.p50.toFixed(1).padStart(6)} ${s.p99.toFixed(1).padStart(6)} ${s.perSecond.toFixed(0).padStart(4)} ${String(s.hung).padStart(5)}`;
      const ratio = r['render threads'].p50 / r['tokio workers'].p50;
      console.log(`${String(r.clients).padStart(7)} ${r.page.padEnd(18)} ${cell(r['render threads'])}       | ${cell(r['tokio workers'])}      | ${ratio.toFixed(2)}`);
    }
    const outDir = path.join(process.env.CARGO_TARGET_DIR || path.join(REPO_ROOT, 'target'), 'bench');
    await mkdir(outDir, { recursive: true });
    await writeFile(path.join(outDir, 'page_renders.json'), JSON.stringify({ seconds: SECONDS, rounds: ROUNDS, rows }, null, 2));
  } finally {
    for (const v of variants) await v.server?.child.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
