// Live updates: from an event at the server (a heartbeat, a job changing
// state, a log line) to the DOM showing it, on the Devices, Queue and Job
// pages, while 100 hosts with 8 GPUs each heartbeat every 3 s and jobs run.
// Usage (after the release build, like the end2end tests):
//
//   node end2end/bench/live_updates.mjs           # 20 s measured per page
//   BENCH_SECONDS=60 node end2end/bench/live_updates.mjs
//
// The server's timestamp comes from the event itself: a heartbeat's
// `last_seen_ms` (when the server took it), a job's `started_ms` /
// `finished_ms`, a log chunk's `server_ms`. live_probe.js, injected into
// the page, notes when the browser received each event (the baseline: what
// the network and SSE cost) and when a MutationObserver saw the DOM change
// for it, and collects long tasks. Server and browser share this machine's
// clock. Prints a table; writes live_updates.json under
// $CARGO_TARGET_DIR/bench (or target/bench).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, newContext } from '../lib/browser.mjs';
import { REPO_ROOT } from '../lib/config.mjs';
import { hydratedAt } from '../lib/page_metrics.mjs';
import { Server, checkBuild, startAgent } from '../lib/trainyard.mjs';
import { pollUntil } from '../lib/wait.mjs';
import { percentile } from './stats.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS || 20);
const HOSTS = Number(process.env.BENCH_HOSTS || 100);
const GPUS = 8;
const INTERVAL_MS = 3000;
const GIB = 2 ** 30;

/** A heartbeat with fresh numbers, so every one changes what a card shows. */
function heartbeat(hostId) {
  const rand = (lo, hi) => lo + Math.random() * (hi - lo);
  return {
    protocol_version: 1,
    host_id: hostId,
    hostname: `${hostId}.cluster.internal`,
    agent_version: 'bench',
    system: {
      cpu_percent: rand(5, 95),
      cpu_count: 224,
      memory_used_bytes: Math.round(rand(64, 2000) * GIB),
      memory_total_bytes: 2048 * GIB,
      disk_used_bytes: Math.round(rand(100, 7000) * GIB),
      disk_total_bytes: 7680 * GIB,
    },
    gpus: Array.from({ length: GPUS }, (_, index) => ({
      index,
      uuid: `GPU-${hostId}-${index}`,
      name: 'NVIDIA H100 80GB HBM3',
      utilization_percent: Math.round(rand(0, 100)),
      memory_used_bytes: Math.round(rand(1, 79) * GIB),
      memory_total_bytes: 80 * GIB,
      temperature_c: Math.round(rand(30, 80)),
      power_watts: Math.round(rand(60, 690)),
      power_limit_watts: 700,
      processes: [],
    })),
  };
}

/** HOSTS − 1 simulated hosts, each on its own phase; the last host is a real agent. */
function startFleet(server) {
  const timers = [];
  let failures = 0;
  for (let i = 0; i < HOSTS - 1; i += 1) {
    const hostId = `sim-${String(i + 1).padStart(3, '0')}`;
    const beat = () =>
      server
        .api('/api/v1/agents/heartbeat', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(heartbeat(hostId)),
        })
        .then((r) => { if (r.status !== 200) failures += 1; return r.arrayBuffer(); })
        .catch(() => { failures += 1; });
    beat();
    timers.push(setTimeout(() => timers.push(setInterval(beat, INTERVAL_MS)), Math.random() * INTERVAL_MS));
  }
  return { stop: () => timers.forEach((t) => { clearTimeout(t); clearInterval(t); }), failures: () => failures };
}

async function submit(server, yaml) {
  const response = await server.api('/api/v1/experiments', { method: 'POST', body: yaml });
  if (response.status !== 201) throw new Error(`submit: ${response.status} ${await response.text()}`);
}

/** Short jobs, one every 1.5 s: each is queued, runs a second and succeeds. */
function startJobChurn(server) {
  let n = 0;
  const timer = setInterval(() => {
    n += 1;
    submit(server, `project: live-bench\nname: churn-${n}\ncommand: sleep 1\ngpus: 1\n`).catch(() => {});
  }, 1500);
  return { stop: () => clearInterval(timer) };
}

function summarize(samples) {
  const toDom = samples.map((s) => s.domMs - s.serverMs);
  const toBrowser = samples.map((s) => s.receivedMs - s.serverMs);
  return {
    n: samples.length,
    receivedP50: percentile(toBrowser, 50),
    receivedP99: percentile(toBrowser, 99),
    domP50: percentile(toDom, 50),
    domP99: percentile(toDom, 99),
    domMax: toDom.length ? Math.max(...toDom) : NaN,
  };
}

async function measure(browser, url, kinds, errors) {
  const context = await newContext(browser, errors);
  try {
    await context.addInitScript({ content: await readFile(path.join(HERE, 'live_probe.js'), 'utf8') });
    const page = await context.newPage();
    await page.goto(url);
    await hydratedAt(page, 30_000);
    await page.evaluate(() => { window.__liveProbe.measuring = true; });
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const result = await page.evaluate(() => window.__liveProbe.finish());
    const rows = kinds.map((kind) => ({ kind, ...summarize(result.samples[kind]) }));
    const long = result.longTasks.filter((t) => t.duration > 50);
    return { url, rows, unmatched: result.unmatched, longTasks: long.length, longestTaskMs: Math.max(0, ...long.map((t) => t.duration)) };
  } finally {
    await context.close();
  }
}

async function main() {
  await checkBuild();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-'));
  const server = await Server.start({
    dataDir: path.join(scratch, 'data'),
    // The suite's short thresholds would call 3 s heartbeats stale.
    staleAfter: 10,
    disconnectedAfter: 30,
  });
  const talker = path.join(scratch, 'talker.py');
  await writeFile(talker, 'import time\nfor i in range(1000000):\n    print(f"step {i} loss {1 / (i + 1):.5f}", flush=True)\n    time.sleep(0.1)\n');
  const agent = startAgent(server, {
    hostId: 'agent-real',
    fakeGpus: GPUS,
    heartbeatInterval: INTERVAL_MS / 1000,
    workDir: path.join(scratch, 'work'),
  });
  const fleet = startFleet(server);
  const browser = await launchBrowser();
  const errors = [];
  let churn;
  try {
    await submit(server, `project: live-bench\nname: talker\ncommand: python3 -u ${talker}\ngpus: 1\n`);
    const running = await pollUntil(
      async () => (await server.jobs('?status=running')).find((j) => j.name === 'talker'),
      { what: 'the talker job running', timeout: 30_000 },
    );
    churn = startJobChurn(server);
    const pages = [
      await measure(browser, `${server.url}/devices`, ['device'], errors),
      await measure(browser, `${server.url}/queue`, ['job'], errors),
      await measure(browser, `${server.url}/jobs/${running.id}`, ['log'], errors),
    ];
    console.log(`live updates: ${HOSTS} hosts x ${GPUS} GPUs every ${INTERVAL_MS / 1000} s, a job logging 10 lines/s, a short job every 1.5 s; ${SECONDS} s per page`);
    console.log('page                 event    n   server->received p50/p99   server->DOM p50/p99/max   long tasks >50ms (longest)');
    for (const p of pages) {
      for (const r of p.rows) {
        const pathName = new URL(p.url).pathname;
        console.log(
          `${pathName.padEnd(20)} ${r.kind.padEnd(7)} ${String(r.n).padStart(4)}   ${r.receivedP50.toFixed(1).padStart(6)} / ${r.receivedP99.toFixed(1).padEnd(12)} ${r.domP50.toFixed(1).padStart(6)} / ${r.domP99.toFixed(1)} / ${r.domMax.toFixed(1)}`.padEnd(100) +
            `${p.longTasks} (${p.longestTaskMs.toFixed(0)} ms)`,
        );
      }
    }
    console.log(`heartbeat failures: ${fleet.failures()}`);
    if (errors.length > 0) throw new Error(`the browser reported errors:\n  ${errors.join('\n  ')}`);
    const outDir = path.join(process.env.CARGO_TARGET_DIR || path.join(REPO_ROOT, 'target'), 'bench');
    await mkdir(outDir, { recursive: true });
    await writeFile(path.join(outDir, 'live_updates.json'), JSON.stringify({ hosts: HOSTS, seconds: SECONDS, pages }, null, 2));
  } finally {
    churn?.stop();
    fleet.stop();
    await browser.close().catch(() => {});
    await agent.stop();
    await server.child.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
