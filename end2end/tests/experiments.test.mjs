// An experiment from the editor to finished jobs: type a 2×2 sweep on the
// Execute page (with a mistake the editor marks), queue it, watch two agents
// run it on the Queue page, follow one job's log live and cancel it.
// Also takes the docs screenshots execute.png, queue.png and job.png.
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO_ROOT } from '../lib/config.mjs';
import { isSameDocument, markDocument, pathname, screenshot, texts, waitForHydration } from '../lib/browser.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { pollUntil } from '../lib/wait.mjs';

// Each run prints one `epoch i/N loss=…` line every half second for 15 s:
// long enough to open a running job and cancel it even on a loaded CI
// machine (6 s was not: the job could finish before the click), short
// enough for CI.
const SWEEP = `project: e2e
name: "lr{{optimizer.lr}}-bs{{batch_size}}"
command: python3 examples/train.py
gpus: 1
epochs: 30
step_seconds: 0.5
optimizer:
  lr: [0.1, 0.01]
batch_size: [32, 64]
`;

const EDITOR = '[data-testid=config-editor][data-ready="true"]';
const RUN_COUNT = '[data-testid=run-count]';
const ROW = '[data-testid=job-row]';

/** The status of every job row, e.g. ["running", "queued", …]. */
function rowStatuses(page) {
  return page.locator(ROW).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
}

function countOf(list, value) {
  return list.filter((x) => x === value).length;
}

e2eTest('experiments: a sweep typed on Execute runs on two agents, streams its log and can be cancelled', async (world) => {
  const server = await world.startServer({ serverOnly: true });
  const page = await world.newPage();

  // Execute: the example config is checked as soon as the page renders.
  await page.goto(`${server.url}/execute`);
  await waitForHydration(page);
  await page.locator(EDITOR).waitFor({ state: 'visible' });
  await page.locator(`${EDITOR} .cm-editor`).waitFor({ state: 'visible' });
  const document = await markDocument(page);

  // Replace the text with our sweep, as a user would (select all, type).
  const content = page.locator(`${EDITOR} .cm-content`);
  await content.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await pollUntil(async () => ((await content.textContent()) ?? '').trim() === '', { what: 'an empty editor' });
  await page.keyboard.insertText(SWEEP);
  // The example has 4 runs too: wait for the preview of *this* text.
  const header = () => texts(page.locator('[data-testid=run-preview] thead th'));
  await pollUntil(async () => (await header()).join('|') === '#|Run name|optimizer.lr|batch_size', {
    what: 'preview columns #, Run name, optimizer.lr, batch_size (one per axis)',
  });
  assert.match(await page.locator(RUN_COUNT).textContent(), /\b4 runs\b/, 'the run count says 4 runs');
  assert.equal(await page.locator('[data-testid=preview-row]').count(), 4, '4 preview rows');
  assert.ok(
    (await texts(page.locator('[data-testid=preview-row]'))).some((t) => t.includes('lr0.1-bs32')),
    'run names come from the name template',
  );

  // A mistake, typed at the end: marked in the editor and listed under it.
  await page.keyboard.type('priority: urgent');
  await page.locator(`${RUN_COUNT}[data-valid="false"]`).waitFor({ state: 'attached' });
  await page.locator(`${EDITOR} .cm-lintRange-error`).first().waitFor({ state: 'attached' });
  await page.locator(`${EDITOR} .cm-lint-marker-error`).first().waitFor({ state: 'attached' });
  const problems = await page.locator('[data-testid=config-problems]').innerText();
  assert.match(problems, /line 10/, `the problem names its line: ${problems}`);
  assert.match(problems, /high, normal or low/, `the problem says what is allowed: ${problems}`);
  assert.ok(await page.locator('[data-testid=submit-experiment]').isDisabled(), 'no submitting a broken config');

  // Fixed: the marker goes away and the count comes back.
  for (let i = 0; i < 'urgent'.length; i += 1) await page.keyboard.press('Backspace');
  await page.keyboard.type('normal');
  await page.locator(`${RUN_COUNT}[data-valid="true"]`).waitFor({ state: 'attached' });
  assert.match(await page.locator(RUN_COUNT).textContent(), /\b4 runs\b/);
  await page.locator(`${EDITOR} .cm-lintRange-error`).waitFor({ state: 'detached' });
  assert.equal(await page.locator('[data-testid=config-problems]').count(), 0, 'no problems listed');
  assert.ok(await page.locator('[data-testid=submit-experiment]').isEnabled(), 'a valid config can be queued');

  // Ctrl-Enter in the editor queues it.
  await page.keyboard.press('Control+Enter');
  const result = page.locator('[data-testid=submit-result]');
  await pollUntil(async () => /Queued 4 jobs/.test((await result.textContent()) ?? ''), {
    what: '"Queued 4 jobs"',
  });
  await screenshot(page, 'execute.png');
  const queued = await server.jobs();
  assert.equal(queued.length, 4, `4 jobs on the server: ${JSON.stringify(queued.map((j) => j.name))}`);
  const sweepId = queued[0].sweep_id;

  // The link leads to the Queue, filtered by the sweep, without a reload.
  await page.locator('[data-testid=queue-link]').click();
  await pollUntil(() => pathname(page) === '/queue', { what: 'the Queue URL' });
  assert.equal(new URL(page.url()).searchParams.get('sweep'), String(sweepId));
  await page.locator('[data-testid=sweep-filter]').waitFor({ state: 'visible' });
  await pollUntil(async () => countOf(await rowStatuses(page), 'queued') === 4, { what: '4 queued rows' });
  const waitingReason = await page.locator(`${ROW} .reason`).first().textContent();
  assert.ok((waitingReason ?? '').trim() !== '', 'a queued job says why it waits');
  assert.ok(await isSameDocument(page, document), 'Execute to Queue without a page reload');

  // Headers sort: ID ascending, then descending (in the URL, next to the
  // sweep), then Enter on the focused header brings back the queue order.
  const idHeader = page.locator('[data-testid=job-table] th:has([data-testid=sort-id])');
  const idSort = page.locator('[data-testid=sort-id]');
  const rowIds = () => page.locator(ROW).evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-job-id'))));
  const queueOrder = await rowIds();
  const highestId = Math.max(...queueOrder);
  await idSort.click();
  await pollUntil(async () => (await idHeader.getAttribute('aria-sort')) === 'ascending', { what: 'ID sorted ascending' });
  await idSort.click();
  await pollUntil(async () => (await idHeader.getAttribute('aria-sort')) === 'descending', { what: 'ID sorted descending' });
  await pollUntil(async () => (await rowIds())[0] === highestId, { what: `job ${highestId} (highest id) first` });
  assert.equal(await idSort.locator('.sort-arrow').textContent(), '↓', 'the arrow shows the direction');
  const sorted = new URL(page.url()).searchParams;
  assert.deepEqual([sorted.get('sweep'), sorted.get('sort'), sorted.get('dir')], [String(sweepId), 'id', 'desc']);
  await idSort.focus();
  await page.keyboard.press('Enter');
  await pollUntil(async () => (await idHeader.getAttribute('aria-sort')) === null, { what: 'no column sorted' });
  await pollUntil(async () => (await rowIds()).join() === queueOrder.join(), { what: `the queue order ${queueOrder}` });
  assert.equal(new URL(page.url()).search, `?sweep=${sweepId}`, 'back to the default order, the sweep kept');
  assert.ok(await isSameDocument(page, document), 'sorting without a page reload');

  // Two agents with one GPU each: two jobs run at once, one per host.
  for (const hostId of ['gpu-a', 'gpu-b']) {
    await world.startAgent(server, { hostId, fakeGpus: 1, cwd: REPO_ROOT });
  }
  const runningHosts = async () => {
    const hosts = await page
      .locator(`${ROW}[data-status="running"] [data-testid=job-host]`)
      .evaluateAll((cells) => cells.map((c) => c.textContent.trim().split(' ')[0]));
    return hosts.sort().join(',');
  };
  await pollUntil(async () => (await runningHosts()) === 'gpu-a,gpu-b', {
    what: 'jobs running on gpu-a and gpu-b (live, no reload)',
    timeout: 30_000,
  });
  assert.ok(await isSameDocument(page, document), 'rows changed live');
  await screenshot(page, 'queue.png');

  // A running job's page shows its log growing line by line.
  const running = page.locator(`${ROW}[data-status="running"]`).first();
  const jobId = await running.getAttribute('data-job-id');
  await running.locator('[data-testid=job-link]').click();
  await pollUntil(() => pathname(page) === `/jobs/${jobId}`, { what: `the page of job ${jobId}` });
  const log = page.locator('[data-testid=job-log]');
  const epochLines = async () => ((await log.textContent()) ?? '').match(/epoch \d+\/30/g)?.length ?? 0;
  const seen = await pollUntil(epochLines, { what: 'an "epoch i/30" line in the log' });
  await pollUntil(async () => (await epochLines()) > seen, {
    what: `a new log line after the first ${seen}`,
    timeout: 5_000,
  });
  assert.match(await page.locator('[data-testid=job-config]').textContent(), /batch_size/, 'resolved config shown');
  await screenshot(page, 'job.png');

  // Cancel it: the badge ends `cancelled`, live.
  await page.locator('[data-testid=cancel-job]').click();
  await page.locator('.job-head [data-testid=job-status][data-status="cancelled"]').waitFor({ state: 'attached' });

  // Back on the Queue, the sweep ends with 3 succeeded and 1 cancelled.
  await page.locator('nav a[href="/queue"]').click();
  await pollUntil(() => pathname(page) === '/queue', { what: 'the Queue URL' });
  await pollUntil(
    async () => {
      const statuses = await rowStatuses(page);
      return statuses.length === 4 && countOf(statuses, 'succeeded') === 3 && countOf(statuses, 'cancelled') === 1;
    },
    { what: '3 succeeded and 1 cancelled rows', timeout: 60_000 },
  );
  const cancelledRow = page.locator(`${ROW}[data-job-id="${jobId}"]`);
  assert.equal(await cancelledRow.getAttribute('data-status'), 'cancelled', 'the cancelled job is the one we cancelled');
  const final = await server.jobs(`?sweep=${sweepId}`);
  assert.deepEqual(
    final.map((j) => j.status).sort(),
    ['cancelled', 'succeeded', 'succeeded', 'succeeded'],
    'the server agrees',
  );
  assert.ok(await isSameDocument(page, document), 'the whole scenario ran in one document');
});
