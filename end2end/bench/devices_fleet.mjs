// What a large fleet costs the browser on the Devices page
// (docs/benchmarks.md, "Devices page with 1,000 hosts").
//
//   node end2end/bench/devices_fleet.mjs [hosts=1000] [seconds=20]
//   (npm run bench:devices)
//
// The release server (see end2end/README.md for the build) with `hosts`
// simulated hosts (8 GPUs each, end2end/lib/fleet.mjs) posting a heartbeat
// every 3 s straight to the REST API, and Debian's chromium. For each page
// below, in the same run and under the same load: load it, wait until it is
// hydrated and live, then for `seconds` count what reaches the page over its
// event streams (Chrome DevTools Protocol), long tasks (> 50 ms on the main
// thread), animation frames, main-thread busy time (all tasks, script, and
// style + layout, in ms per second) and the JS heap.
//
// - `/devices`: the page under test.
// - baseline `/`: the Dashboard, the same app and live stream with no host
//   cards: the floor for this browser, machine and load.
// - baseline stream: `GET /api/v1/events` with every host's events (what
//   the browser received before the page followed only its hosts), read by
//   this script for the same window.
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForHydration } from '../lib/browser.mjs';
import { keepReporting, postFleet } from '../lib/fleet.mjs';
import { E2E } from '../lib/harness.mjs';
import { checkBuild } from '../lib/trainyard.mjs';

const HOSTS = Number(process.argv[2] ?? 1000);
const SECONDS = Number(process.argv[3] ?? 20);

/** Loads `path`, then watches it for SECONDS. */
async function measure(world, server, path) {
  const page = await world.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Performance.enable');
  let events = 0;
  let eventBytes = 0;
  cdp.on('Network.eventSourceMessageReceived', (e) => {
    events += 1;
    eventBytes += e.data.length;
  });
  // Bytes of the document and its data calls; the wasm, scripts and styles
  // (/pkg/, /assets/) are the same for every page and cached after the first.
  let loadBytes = 0;
  const urls = new Map();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    const url = urls.get(e.requestId) ?? '';
    if (!url.includes('/pkg/') && !url.includes('/assets/')) loadBytes += e.encodedDataLength;
  });
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  const started = Date.now();
  await page.goto(`${server.url}${path}`);
  await waitForHydration(page);
  const hydratedMs = Date.now() - started;
  const atLoad = { loadBytes, longTasks: await page.evaluate(() => window.__longTasks.length) };
  const dom = await page.evaluate(() => ({
    nodes: document.getElementsByTagName('*').length,
    cards: document.querySelectorAll('[data-testid=host-card]').length,
  }));
  // The watched window: frames, long tasks, stream traffic, heap.
  events = 0;
  eventBytes = 0;
  await page.evaluate(() => {
    window.__longTasks = [];
    window.__frames = 0;
    const count = () => {
      window.__frames += 1;
      requestAnimationFrame(count);
    };
    requestAnimationFrame(count);
  });
  const busy = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    return { task: m.TaskDuration, script: m.ScriptDuration, layout: m.LayoutDuration + m.RecalcStyleDuration };
  };
  const before = await busy();
  const t0 = Date.now();
  await sleep(SECONDS * 1000);
  const seconds = (Date.now() - t0) / 1000;
  const after = await busy();
  const watched = await page.evaluate(() => ({ frames: window.__frames, longTasks: window.__longTasks }));
  const heap = await cdp.send('Runtime.getHeapUsage');
  await page.close();
  return {
    path,
    hydratedMs,
    loadKiB: atLoad.loadBytes / 1024,
    nodes: dom.nodes,
    cards: dom.cards,
    eventsPerS: events / seconds,
    eventKiBPerS: eventBytes / 1024 / seconds,
    fps: watched.frames / seconds,
    longTasks: watched.longTasks.length,
    longTaskMs: watched.longTasks.reduce((a, b) => a + b, 0),
    heapMiB: heap.usedSize / 2 ** 20,
    // Main-thread busy time, ms per second of the window (of 1,000).
    taskMsPerS: ((after.task - before.task) * 1000) / seconds,
    scriptMsPerS: ((after.script - before.script) * 1000) / seconds,
    layoutMsPerS: ((after.layout - before.layout) * 1000) / seconds,
  };
}

/** Every host's events, as the browser got them before: events/s and KiB/s. */
async function unfilteredStream(server) {
  const controller = new AbortController();
  const response = await server.api('/api/v1/events', { signal: controller.signal });
  let events = 0;
  let bytes = 0;
  const t0 = Date.now();
  const reading = (async () => {
    try {
      for await (const chunk of response.body) {
        bytes += chunk.length;
        events += (Buffer.from(chunk).toString().match(/^event: ?device$/gm) ?? []).length;
      }
    } catch {
      // Aborted at the end of the window.
    }
  })();
  await sleep(SECONDS * 1000);
  controller.abort();
  await reading;
  const seconds = (Date.now() - t0) / 1000;
  return { eventsPerS: events / seconds, eventKiBPerS: bytes / 1024 / seconds };
}

const world = new E2E('bench devices fleet');
try {
  await checkBuild();
  const server = await world.startServer({ serverOnly: true, staleAfter: 60, disconnectedAfter: 120 });
  const registering = Date.now();
  await postFleet(server, HOSTS);
  console.log(`${HOSTS} hosts registered in ${((Date.now() - registering) / 1000).toFixed(1)} s; each reports every 3 s`);
  const stop = keepReporting(server, HOSTS, { intervalMs: 3000 });
  try {
    await sleep(3000);
    const devices = await measure(world, server, '/devices');
    const dashboard = await measure(world, server, '/');
    const stream = await unfilteredStream(server);
    const row = (name, r) =>
      console.log(
        `${name.padEnd(40)} ${String(r.cards ?? '').padStart(5)} ${String(r.nodes ?? '').padStart(6)} ` +
          `${(r.hydratedMs ?? NaN).toFixed(0).padStart(8)} ${(r.loadKiB ?? NaN).toFixed(0).padStart(8)} ` +
          `${r.eventsPerS.toFixed(1).padStart(8)} ${r.eventKiBPerS.toFixed(1).padStart(8)} ` +
          `${(r.fps ?? NaN).toFixed(1).padStart(6)} ${String(r.longTasks ?? '').padStart(5)} ` +
          `${(r.longTaskMs ?? NaN).toFixed(0).padStart(7)} ${(r.heapMiB ?? NaN).toFixed(1).padStart(7)} ` +
          `${(r.taskMsPerS ?? NaN).toFixed(0).padStart(7)} ${(r.scriptMsPerS ?? NaN).toFixed(0).padStart(7)} ` +
          `${(r.layoutMsPerS ?? NaN).toFixed(0).padStart(7)}`,
      );
    console.log(`\n${HOSTS} hosts, watched ${SECONDS} s per page, ${new Date().toISOString()}`);
    console.log(
      `${'page'.padEnd(40)} ${'cards'.padStart(5)} ${'nodes'.padStart(6)} ${'ready ms'.padStart(8)} ${'data KiB'.padStart(8)} ` +
        `${'events/s'.padStart(8)} ${'KiB/s'.padStart(8)} ${'fps'.padStart(6)} ${'long'.padStart(5)} ${'long ms'.padStart(7)} ${'heap MiB'.padStart(7)} ` +
        `${'busy'.padStart(7)} ${'script'.padStart(7)} ${'layout'.padStart(7)}`,
    );
    row('/devices', devices);
    row('baseline: / (Dashboard, no cards)', dashboard);
    row('baseline: every host\'s events (stream)', stream);
    if (devices.cards > 0) {
      const perCard = (devices.nodes - dashboard.nodes) / devices.cards;
      console.log(
        `\nDOM nodes per card: ~${perCard.toFixed(0)}, so all ${HOSTS} cards at once would be ~${Math.round(perCard * HOSTS)} nodes`,
      );
    }
  } finally {
    await stop();
  }
} finally {
  await world.cleanup();
}
