// The Devices page with 1,000 hosts reporting: one page of 24 cards, paged,
// searched and filtered on the server; live updates follow only the shown
// hosts. How fast it is lives in end2end/bench/devices_fleet.mjs, not here.
import assert from 'node:assert/strict';
import { isSameDocument, markDocument, texts, waitForHydration } from '../lib/browser.mjs';
import { hostId, keepReporting, postFleet } from '../lib/fleet.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { pollUntil } from '../lib/wait.mjs';

const HOSTS = 1000;
const PAGE = 24;

/** Ids of the host cards on the page, in order. */
const shownIds = (page) =>
  page.locator('[data-testid=host-card]').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-host-id')));

const range = async (page) => ((await page.locator('[data-testid=hosts-range]').textContent()) ?? '').trim();

async function waitForIds(page, expected, what) {
  await pollUntil(async () => JSON.stringify(await shownIds(page)) === JSON.stringify(expected), {
    what: `${what}: ${JSON.stringify(expected)}`,
  });
}

const ids = (from, to) => Array.from({ length: to - from }, (_, k) => hostId(from + k));

e2eTest('devices: 1,000 hosts are shown a page at a time, searched, filtered and followed live', async (world) => {
  // Thresholds well above the reporting interval: no host flaps while the test runs.
  const server = await world.startServer({ serverOnly: true, staleAfter: 60, disconnectedAfter: 120 });
  await postFleet(server, HOSTS);
  const stop = keepReporting(server, HOSTS, { intervalMs: 3000 });
  try {
    const page = await world.newPage();
    // Every server-sent event the page receives, with the stream it came on.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const streams = new Map();
    const received = [];
    cdp.on('Network.requestWillBeSent', (e) => {
      if (e.request.url.includes('/api/v1/events')) streams.set(e.requestId, e.request.url);
    });
    cdp.on('Network.eventSourceMessageReceived', (e) => {
      received.push({ url: streams.get(e.requestId) ?? '', name: e.eventName, data: e.data });
    });

    await page.goto(`${server.url}/devices`);
    await waitForHydration(page);
    const document = await markDocument(page);
    assert.deepEqual(await shownIds(page), ids(0, PAGE), 'the first 24 hosts, in id order, rendered on the server');
    assert.equal(await range(page), '1–24 of 1000 hosts');
    assert.equal(await page.locator('[data-testid=gpu-row]').count(), PAGE * 8, 'every shown host has its 8 GPUs');
    assert.match(
      (await page.locator('[data-testid=devices-summary]').textContent()) ?? '',
      /1000 hosts online/,
      'the summary counts the whole fleet',
    );

    // The shown cards follow their hosts' heartbeats…
    const first = `[data-testid=host-card][data-host-id="${hostId(1)}"] [data-testid=gpu-util]`;
    const before = await texts(page.locator(first));
    await pollUntil(async () => JSON.stringify(await texts(page.locator(first))) !== JSON.stringify(before), {
      what: `a GPU reading of ${hostId(1)} to change from ${JSON.stringify(before)}`,
    });
    // …on a stream that carries only those hosts, while the app's own stream carries none.
    const devices = received.filter((e) => e.name === 'device');
    assert.ok(devices.length > 0, 'device events arrived');
    const shown = new Set(ids(0, PAGE));
    for (const e of devices) {
      const host = JSON.parse(e.data).host.host_id;
      assert.ok(shown.has(host), `only shown hosts are followed, got ${host} on ${e.url}`);
      assert.match(e.url, /devices=host-0000,/, `device events come on the page's stream: ${e.url}`);
    }

    // Paging: the next 24, in place.
    await page.click('[data-testid=hosts-next]');
    await waitForIds(page, ids(PAGE, 2 * PAGE), 'the second page');
    assert.equal(await range(page), '25–48 of 1000 hosts');
    await page.click('[data-testid=hosts-previous]');
    await waitForIds(page, ids(0, PAGE), 'back to the first page');

    // Search (host id, hostname or GPU model), applied as typing pauses.
    await page.fill('[data-testid=hosts-search]', 'host-042');
    await waitForIds(page, ids(420, 430), 'hosts matching host-042');
    assert.equal(await page.locator('[data-testid=hosts-next]').isVisible(), false, 'one page: no pager');
    await page.fill('[data-testid=hosts-search]', 'rack7.lab');
    await pollUntil(async () => (await range(page)) === '1–24 of 100 hosts', { what: '100 hosts in rack 7' });
    await page.fill('[data-testid=hosts-search]', 'no-such-host');
    await page.locator('[data-testid=no-hosts-match]').waitFor({ state: 'visible' });
    assert.equal(await page.locator('[data-testid=host-card]').count(), 0);
    await page.fill('[data-testid=hosts-search]', '');
    await waitForIds(page, ids(0, PAGE), 'every host again');

    // Filters: hosts with a free GPU (i % 9 of 8 are idle), and by health.
    await page.check('[data-testid=hosts-free]');
    const free = [];
    for (let i = 0; i < HOSTS && free.length < PAGE; i += 1) if (i % 9 !== 0) free.push(hostId(i));
    await waitForIds(page, free, 'hosts with a free GPU');
    const withFree = Array.from({ length: HOSTS }, (_, i) => i).filter((i) => i % 9 !== 0).length;
    assert.equal(await range(page), `1–24 of ${withFree} hosts`);
    await page.uncheck('[data-testid=hosts-free]');
    await page.selectOption('[data-testid=hosts-health]', 'stale');
    await page.locator('[data-testid=no-hosts-match]').waitFor({ state: 'visible' });
    await page.selectOption('[data-testid=hosts-health]', 'healthy');
    await waitForIds(page, ids(0, PAGE), 'every host is healthy');

    assert.ok(await isSameDocument(page, document), 'the whole scenario ran in one document');
    assert.equal(await page.locator('[data-testid=host-card]').count(), PAGE, 'never more than a page of cards');
  } finally {
    await stop();
  }
}, { timeout: 180_000 });
