// First load: from navigation to a hydrated, clickable page, in Chromium,
// for the pages users open first, beside a static HTML page served by the
// same server in the same run (the baseline). Also the wasm each page
// transfers. Usage (after the release build, like the end2end tests):
//
//   node end2end/bench/first_load.mjs            # 20 loads of each page
//   BENCH_LOADS=5 node end2end/bench/first_load.mjs
//
// Each load is a fresh browser context (empty cache, like a first visit).
// Loads go round-robin over the pages so that a slow moment of the machine
// lands on all of them. Prints a table and writes first_load.json under
// $CARGO_TARGET_DIR/bench (or target/bench).
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, newContext } from '../lib/browser.mjs';
import { REPO_ROOT, SITE_ROOT } from '../lib/config.mjs';
import { hydratedAt, totalEncoded, wasmTransfers } from '../lib/page_metrics.mjs';
import { seedProject } from '../lib/seed.mjs';
import { Server, checkBuild } from '../lib/trainyard.mjs';
import { percentile } from './stats.mjs';

const LOADS = Number(process.env.BENCH_LOADS || 20);
/** The pages users open first; `BENCH_PAGES=/,/devices,/jobs/1` measures others (e.g. every page's wasm with `BENCH_LOADS=1`). */
const PAGES = process.env.BENCH_PAGES ? process.env.BENCH_PAGES.split(',') : ['/', '/queue', '/execute', '/projects/demo'];
const STATIC = '/static-baseline.html';
const TIMEOUT_MS = 30_000;

/**
 * The baseline: the server-rendered HTML of `/` with every script and
 * preload removed, so the browser loads the same document and CSS but no
 * wasm. Served from the site root like any asset.
 */
async function writeStaticBaseline(server, siteRoot) {
  const html = await (await server.api('/')).text();
  const stripped = html
    .replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '')
    .replace(/<link\b[^>]*rel="(?:modulepreload|preload)"[^>]*>/gi, '');
  await writeFile(path.join(siteRoot, STATIC.slice(1)), stripped);
}

async function loadOnce(browser, url, isStatic, errors) {
  const context = await newContext(browser, errors);
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load', timeout: TIMEOUT_MS });
    if (isStatic) {
      const ms = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
      return { ms, transfers: [] };
    }
    const ms = await hydratedAt(page, TIMEOUT_MS);
    return { ms, transfers: await wasmTransfers(page) };
  } finally {
    await context.close();
  }
}

async function main() {
  await checkBuild();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-'));
  const siteRoot = path.join(scratch, 'site');
  await cp(SITE_ROOT, siteRoot, { recursive: true });
  const server = await Server.start({ dataDir: path.join(scratch, 'data'), siteRoot });
  const browser = await launchBrowser();
  const errors = [];
  try {
    await seedProject(server, { name: 'demo' });
    await writeStaticBaseline(server, siteRoot);
    const targets = [STATIC, ...PAGES];
    const samples = Object.fromEntries(targets.map((t) => [t, []]));
    const wasm = {};
    // One unmeasured round first: the server's and the OS's caches warm up.
    for (const target of targets) await loadOnce(browser, server.url + target, target === STATIC, errors);
    for (let i = 0; i < LOADS; i += 1) {
      for (const target of targets) {
        const { ms, transfers } = await loadOnce(browser, server.url + target, target === STATIC, errors);
        samples[target].push(ms);
        if (target !== STATIC) {
          wasm[target] = {
            criticalBytes: totalEncoded(transfers, (t) => t.beforeHydration),
            totalBytes: totalEncoded(transfers),
            files: transfers,
          };
        }
      }
    }
    const staticP50 = percentile(samples[STATIC], 50);
    const staticP90 = percentile(samples[STATIC], 90);
    const rows = targets.map((target) => {
      const p50 = percentile(samples[target], 50);
      const p90 = percentile(samples[target], 90);
      const row = { page: target, loads: samples[target].length, p50, p90 };
      if (target !== STATIC) {
        row.budgetP50 = 2 * staticP50 + 300;
        row.budgetP90 = 2 * staticP90 + 300;
        row.met = p50 <= row.budgetP50 && p90 <= row.budgetP90;
        row.wasmCriticalKB = wasm[target].criticalBytes / 1000;
        row.wasmTotalKB = wasm[target].totalBytes / 1000;
      }
      return row;
    });
    console.log(`first load, ${LOADS} loads each, fresh context per load (ms from navigation start)`);
    console.log('page              p50     p90   target p50/p90 (2x static + 300)   wasm on the wire (br) before hydration / total');
    for (const r of rows) {
      const target = r.page === STATIC ? 'baseline (load event)' : `${r.budgetP50.toFixed(0)} / ${r.budgetP90.toFixed(0)} ${r.met ? 'met' : 'NOT MET'}`;
      const bytes = r.page === STATIC ? '' : `${r.wasmCriticalKB.toFixed(1)} KB / ${r.wasmTotalKB.toFixed(1)} KB`;
      console.log(`${r.page.padEnd(16)} ${r.p50.toFixed(0).padStart(5)} ${r.p90.toFixed(0).padStart(7)}   ${target.padEnd(34)} ${bytes}`);
    }
    if (errors.length > 0) throw new Error(`the browser reported errors:\n  ${errors.join('\n  ')}`);
    const outDir = path.join(process.env.CARGO_TARGET_DIR || path.join(REPO_ROOT, 'target'), 'bench');
    await mkdir(outDir, { recursive: true });
    await writeFile(path.join(outDir, 'first_load.json'), JSON.stringify({ loads: LOADS, rows, wasm, samples }, null, 2));
  } finally {
    await browser.close().catch(() => {});
    await server.child.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
