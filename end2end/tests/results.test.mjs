// Results: run the example sweep (examples/sweep.yaml, whose train.py prints
// TRAINYARD_METRIC lines), watch a running job's loss curve grow live on its
// page, then open the project, pick two runs and compare them: overlaid
// curves (one line per run) and the final/best value table.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../lib/config.mjs';
import { pathname, screenshot, waitForHydration } from '../lib/browser.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { seedProject } from '../lib/seed.mjs';
import { pollUntil } from '../lib/wait.mjs';

const CHART = (key) => `[data-testid=chart][data-key="${key}"]`;

/** Pixels of `key`'s chart canvas in the first series' colour (#4c78a8). */
async function seriesInk(page, key) {
  return page.locator(`${CHART(key)} canvas`).first().evaluate((canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const near = (value, target) => Math.abs(value - target) < 24;
    let ink = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 128 && near(data[i], 0x4c) && near(data[i + 1], 0x78) && near(data[i + 2], 0xa8)) ink += 1;
    }
    return ink;
  });
}

async function points(page, key) {
  const chart = page.locator(CHART(key));
  if ((await chart.count()) === 0) return 0;
  return Number((await chart.first().getAttribute('data-points')) ?? 0);
}

e2eTest('results: a running job\'s curve grows live, and two runs of the project compare', async (world) => {
  const server = await world.startServer({ serverOnly: true });
  const yaml = await readFile(path.join(REPO_ROOT, 'examples', 'sweep.yaml'), 'utf8');
  const submitted = await server.api('/api/v1/experiments', { method: 'POST', body: yaml });
  assert.equal(submitted.status, 201, `submit: ${await submitted.text()}`);
  // Two CPU-only agents: two runs at a time.
  for (const hostId of ['cpu-a', 'cpu-b']) {
    await world.startAgent(server, { hostId, fakeGpus: 0, cwd: REPO_ROOT });
  }
  const running = await pollUntil(
    async () => (await server.jobs('?status=running'))[0],
    { what: 'a running job', timeout: 30_000 },
  );

  // The job page: the loss chart appears and grows while the job runs.
  const page = await world.newPage();
  await page.goto(`${server.url}/jobs/${running.id}`);
  await waitForHydration(page);
  const first = await pollUntil(async () => (await points(page, 'loss')) || 0, {
    what: 'a loss chart with points',
  });
  await pollUntil(async () => (await points(page, 'loss')) > first, {
    what: `more than ${first} loss points (live, no reload)`,
    timeout: 10_000,
  });
  await page.locator(`${CHART('loss')} canvas`).first().waitFor({ state: 'attached' });
  assert.equal(await page.locator(CHART('accuracy')).count(), 1, 'one chart per metric key');
  // Files the job writes show up while it runs (synced by the agent, re-listed live).
  await page.locator('[data-testid=run-files] a[href$="/files/metrics.csv"]').waitFor({ state: 'attached' });
  await screenshot(page, 'run.png');

  // Projects lists "demo" with its 4 runs; its page shows them with params and metrics.
  await page.locator('nav a[href="/projects"]').click();
  await pollUntil(() => pathname(page) === '/projects', { what: 'the Projects URL' });
  const demo = page.locator('[data-testid=project-row]', { hasText: 'demo' });
  await demo.waitFor({ state: 'visible' });
  await demo.locator('a').click();
  await pollUntil(() => pathname(page) === '/projects/demo', { what: 'the demo project page' });
  await pollUntil(async () => (await page.locator('[data-testid=run-row]').count()) === 4, { what: '4 run rows' });
  const headers = (await page.locator('[data-testid=runs] thead th').allTextContents()).join('|');
  assert.match(headers, /optimizer\.lr/, `parameters are columns: ${headers}`);
  const pager = await page.locator('.pager button').allTextContents();
  assert.deepEqual(pager.map((t) => t.trim()), ['← Previous', 'Next →'], 'the pager shows its labels only');
  assert.equal(await page.locator('.pager button').last().isDisabled(), true, 'one page: Next is disabled');
  await screenshot(page, 'project.png');

  // Sorting by id ascending is done by the server.
  await page.locator('[data-testid=sort-id]').click();
  const ids = async () => page.locator('[data-testid=run-row]').evaluateAll((rows) => rows.map((r) => Number(r.dataset.runId)));
  await pollUntil(async () => { const list = await ids(); return list.length === 4 && list[0] < list[3]; }, {
    what: 'runs sorted by id ascending',
  });

  // Wait until two runs have metrics, then pick them.
  await pollUntil(async () => {
    const withLoss = await server.api(`/api/v1/runs/${running.id}/metrics`).then((r) => r.json());
    return withLoss.length > 0;
  }, { what: 'metrics on the server' });
  const [a, b] = await ids();
  await page.locator(`[data-testid=run-row][data-run-id="${a}"] [data-testid=run-select]`).check();
  await page.locator(`[data-testid=run-row][data-run-id="${b}"] [data-testid=run-select]`).check();
  await pollUntil(async () => /Compare 2 selected/.test(await page.locator('[data-testid=compare-link]').textContent()), {
    what: '"Compare 2 selected"',
  });
  // Both picked runs must have reported before their curves can overlay.
  await pollUntil(async () => {
    const counts = await Promise.all([a, b].map((id) => server.api(`/api/v1/runs/${id}/metrics`).then((r) => r.json())));
    return counts.every((list) => list.length > 0);
  }, { what: `metrics for runs ${a} and ${b}`, timeout: 60_000 });
  await page.locator('[data-testid=compare-link]').click();
  await pollUntil(() => pathname(page) === '/compare', { what: 'the Compare URL' });
  assert.equal(new URL(page.url()).searchParams.get('runs'), `${a},${b}`);

  // Overlaid curves: the loss chart has a legend entry per run.
  await page.locator(`[data-testid=compare-charts] ${CHART('loss')} canvas`).first().waitFor({ state: 'attached' });
  const legend = page.locator(`[data-testid=compare-charts] ${CHART('loss')} .u-legend .u-series`);
  await pollUntil(async () => (await legend.count()) === 3, { what: 'a legend with step + 2 runs' });
  // The comparison table: a row per metric, a cell per run, loss lower-is-better.
  const lossRow = page.locator('[data-testid=final-row][data-key="loss"]');
  await lossRow.waitFor({ state: 'visible' });
  assert.equal(await lossRow.locator('[data-testid=final-value]').count(), 2, 'a value per run');
  assert.match(await lossRow.textContent(), /lower is better/);
  assert.match(await lossRow.textContent(), /best [\d.]+ @ \d+/, 'best value with its step');
  await page.locator('[data-testid=parallel-coords] polyline').first().waitFor({ state: 'attached' });
  await screenshot(page, 'compare.png');
}, { timeout: 180_000 });

e2eTest('results: a metric logged once is drawn as a dot, not an empty chart', async (world) => {
  const server = await world.startServer({ serverOnly: true });
  // An MLflow run id is its job id; one step of `loss` and `accuracy`.
  const [jobId] = await seedProject(server, { name: 'once', runs: 1, steps: 1 });
  const page = await world.newPage();
  await page.goto(`${server.url}/jobs/${jobId}`);
  await waitForHydration(page);
  await pollUntil(async () => (await points(page, 'loss')) === 1, { what: 'a loss chart with its one point' });
  await page.locator(`${CHART('loss')} canvas`).first().waitFor({ state: 'attached' });
  // A line needs two points; the one value must still be visible.
  await pollUntil(async () => (await seriesInk(page, 'loss')) > 0, {
    what: 'the one loss value drawn on its chart',
    timeout: 10_000,
  });
});
