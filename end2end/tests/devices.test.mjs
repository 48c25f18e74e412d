// The Devices page follows an agent live, from first heartbeat to removal;
// the Dashboard counts it. Also takes the docs screenshots.
import assert from 'node:assert/strict';
import { TIMEOUT_MS } from '../lib/config.mjs';
import { isSameDocument, markDocument, pathname, screenshot, texts, waitForHydration } from '../lib/browser.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { pollUntil } from '../lib/wait.mjs';

const HOST_ID = 'gpu-e2e';
const card = (id = HOST_ID) => `[data-testid=host-card][data-host-id="${id}"]`;

/** Sets the theme with the toggle (clicking only if needed). */
async function useTheme(page, theme) {
  const html = page.locator('html');
  if ((await html.getAttribute('data-theme')) !== theme) {
    await page.click('[data-testid=theme-toggle]');
  }
  await pollUntil(async () => (await html.getAttribute('data-theme')) === theme, { what: `data-theme="${theme}"` });
}

/** Text of every GPU metric on the card, to notice live changes. */
function gpuReadings(page) {
  return texts(
    page.locator(
      `${card()} [data-testid=gpu-util], ${card()} [data-testid=gpu-mem], ${card()} [data-testid=gpu-temp], ${card()} [data-testid=gpu-power]`,
    ),
  );
}

e2eTest('devices: an agent appears live, updates, goes stale, disconnects and is removed', async (world) => {
  const server = await world.startServer({ serverOnly: true });
  const page = await world.newPage();

  await page.goto(`${server.url}/devices`);
  await waitForHydration(page);
  await page.locator('[data-testid=empty-hosts]').waitFor({ state: 'visible' });
  assert.equal(await page.locator('[data-testid=host-card]').count(), 0, 'no host cards before any agent');
  const document = await markDocument(page);

  // The agent starts after the page loaded: its card must arrive over SSE.
  const agent = await world.startAgent(server, { hostId: HOST_ID, fakeGpus: 2 });
  const hostCard = page.locator(card());
  await hostCard.waitFor({ state: 'visible', timeout: 10_000 });
  assert.ok(await isSameDocument(page, document), 'the card appeared without a page reload');
  await page.locator('[data-testid=empty-hosts]').waitFor({ state: 'detached' });
  assert.equal(await hostCard.getAttribute('data-health'), 'healthy');
  assert.equal(await hostCard.locator('[data-testid=remove-host]').count(), 0, 'no remove button on a healthy host');

  // Two GPU rows with name and every metric; host CPU/RAM/disk.
  const [host] = await server.hosts();
  assert.equal(host.host_id, HOST_ID);
  assert.equal(host.gpus.length, 2);
  const rows = hostCard.locator('[data-testid=gpu-row]');
  await pollUntil(async () => (await rows.count()) === 2, { what: '2 gpu-row elements' });
  for (let i = 0; i < 2; i += 1) {
    const row = rows.nth(i);
    const rowText = (await row.textContent()) ?? '';
    assert.ok(rowText.includes(host.gpus[i].name), `GPU row ${i} names the GPU "${host.gpus[i].name}": ${rowText}`);
    assert.match((await row.locator('[data-testid=gpu-util]').textContent()).trim(), /^\d+(\.\d+)?\s*%$/, 'gpu-util');
    assert.match(await row.locator('[data-testid=gpu-mem]').textContent(), /\d/, 'gpu-mem');
    assert.match(await row.locator('[data-testid=gpu-temp]').textContent(), /\d+(\.\d+)?\s*°\s*C/, 'gpu-temp');
    assert.match(await row.locator('[data-testid=gpu-power]').textContent(), /\d+(\.\d+)?\s*W/, 'gpu-power');
  }
  for (const testid of ['host-cpu', 'host-ram', 'host-disk', 'last-seen']) {
    const text = await hostCard.locator(`[data-testid=${testid}]`).textContent();
    assert.match(text ?? '', /\d/, `${testid} shows a number: ${JSON.stringify(text)}`);
  }

  // The fake GPUs change every heartbeat; the page must follow without a reload.
  const before = await gpuReadings(page);
  assert.equal(before.length, 8, `4 metrics x 2 GPUs: ${JSON.stringify(before)}`);
  await pollUntil(async () => JSON.stringify(await gpuReadings(page)) !== JSON.stringify(before), {
    what: `a GPU reading to change from ${JSON.stringify(before)}`,
  });
  assert.ok(await isSameDocument(page, document), 'values changed without a page reload');

  // Each GPU row draws its last hour; the live heartbeats fill the current minute.
  const sparks = hostCard.locator('[data-testid=gpu-sparkline]');
  await pollUntil(async () => (await sparks.count()) === 2, { what: 'a sparkline per GPU' });
  for (let i = 0; i < 2; i += 1) {
    await pollUntil(async () => Number(await sparks.nth(i).getAttribute('data-points')) >= 1, {
      what: `GPU ${i}'s sparkline to have a point`,
    });
  }

  await useTheme(page, 'light');
  await screenshot(page, 'devices-light.png');
  await useTheme(page, 'dark');
  await screenshot(page, 'devices-dark.png');
  await useTheme(page, 'light');

  // The Dashboard, reached client-side, counts the host and its GPUs.
  await page.click('nav a[href="/"]');
  await pollUntil(() => pathname(page) === '/', { what: 'the Dashboard URL' });
  const stat = (id) => page.locator(`[data-testid=${id}]`);
  await pollUntil(async () => (await stat('stat-hosts-healthy').textContent()).trim() === '1', {
    what: 'stat-hosts-healthy = 1',
  });
  await pollUntil(async () => (await stat('stat-gpus-total').textContent()).trim() === '2', {
    what: 'stat-gpus-total = 2',
  });
  const free = Number((await stat('stat-gpus-free').textContent()).trim());
  assert.ok(Number.isInteger(free) && free >= 0 && free <= 2, `stat-gpus-free is 0..2: ${free}`);
  assert.ok(((await stat('server-status').textContent()) ?? '').trim() !== '', 'server-status is shown');
  // The activity panels come from their own chunk once the page is interactive:
  // jobs at a glance, the run timeline, and the host's GPU load over the last hour.
  await page.locator('[data-testid=running-jobs]').waitFor({ state: 'visible', timeout: 10_000 });
  await page.locator('[data-testid=queued-jobs]').waitFor({ state: 'visible' });
  await page.locator('[data-testid=run-timeline-empty]').waitFor({ state: 'visible' });
  const load = page.locator(`[data-testid=fleet-telemetry] [data-testid=host-load][data-host-id="${HOST_ID}"]`);
  await load.waitFor({ state: 'visible', timeout: 10_000 });
  assert.ok(
    Number(await load.locator('[data-testid=host-util-sparkline]').getAttribute('data-points')) >= 1,
    'the host\'s utilization line has the current minute',
  );
  await page.click('[data-testid=telemetry-window-day]');
  await page.locator('[data-testid=fleet-telemetry] table[data-window=day]').waitFor({ state: 'visible' });
  assert.ok(await isSameDocument(page, document), 'Dashboard reached without a page reload');
  await screenshot(page, 'dashboard.png');

  await page.click('nav a[href="/devices"]');
  await hostCard.waitFor({ state: 'visible' });

  // Agent gone: healthy -> stale -> disconnected, pushed live.
  const status = await agent.stop();
  assert.equal(status.code, 0, `the agent exits cleanly on SIGTERM (${JSON.stringify(status)})`);
  await page.locator(`${card()}[data-health="stale"]`).waitFor({ state: 'attached', timeout: TIMEOUT_MS });
  await page.locator(`${card()}[data-health="disconnected"]`).waitFor({ state: 'attached', timeout: TIMEOUT_MS });

  // Only a disconnected host can be removed; the empty state returns.
  await hostCard.locator('[data-testid=remove-host]').click();
  await hostCard.waitFor({ state: 'detached' });
  await page.locator('[data-testid=empty-hosts]').waitFor({ state: 'visible' });
  assert.deepEqual(await server.hosts(), [], 'the server forgot the host too');
  assert.ok(await isSameDocument(page, document), 'the whole scenario ran in one document');
});
