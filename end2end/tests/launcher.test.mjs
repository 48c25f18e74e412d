// The launcher in the browser: a catalog typed on the Catalog page (a
// mistake marked at its line, a refused save that leaves the text alone,
// revisions, "no change", a diff, restore), then a sweep launched from a
// task's form on the Launch page, whose jobs run exactly the previewed
// command lines, and "Launch again" from a job's page.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../lib/config.mjs';
import { isSameDocument, markDocument, pathname, texts, waitForHydration } from '../lib/browser.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { pollUntil } from '../lib/wait.mjs';

const EDITOR = '[data-testid=config-editor][data-ready="true"]';
const CHECK = '[data-testid=catalog-check]';
const SAVE = '[data-testid=catalog-save]';
const SAVE_RESULT = '[data-testid=catalog-save-result]';
const REVISION_ROW = '[data-testid=revision-row]';
const PREVIEW_ROW = '[data-testid=launch-preview-row]';

/** The argv of every previewed run. */
function previewedArgv(page) {
  return page.locator(PREVIEW_ROW).evaluateAll((rows) => rows.map((r) => JSON.parse(r.getAttribute('data-argv'))));
}

/** Replaces the editor's text, as a user would (select all, delete, type). */
async function replaceText(page, text) {
  const content = page.locator(`${EDITOR} .cm-content`);
  await content.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await pollUntil(async () => ((await content.textContent()) ?? '').trim() === '', { what: 'an empty editor' });
  await page.keyboard.insertText(text);
}

/** The argv `quick-train` builds with its defaults and learning rate `lr`. */
const quickTrain = (lr) => ['python3', 'examples/train.py', '--epochs', '5', '--step-seconds', '0.2', '--lr', lr, '--batch-size', '32'];

e2eTest('launcher: a catalog edited, saved, restored in the browser; a sweep launched from its form runs the previewed commands', async (world) => {
  const server = await world.startServer({ serverOnly: true });
  // Jobs run from the repo root, so `python3 examples/train.py` resolves.
  await world.startAgent(server, { hostId: 'gpu-launch', fakeGpus: 2, cwd: REPO_ROOT });
  const catalog = await readFile(path.join(REPO_ROOT, 'examples', 'catalog.yaml'), 'utf8');
  const good = 'default: 32\n        label: Batch size';
  assert.ok(catalog.includes(good), 'the example catalog has the batch size default this test breaks');
  const broken = catalog.replace(good, 'default: 48\n        label: Batch size');
  const badLine = broken.split('\n').findIndex((l) => l.includes('default: 48')) + 1;

  const page = await world.newPage();
  await page.goto(`${server.url}/catalog`);
  await waitForHydration(page);
  await page.locator(`${EDITOR} .cm-editor`).waitFor({ state: 'visible' });
  const document = await markDocument(page);
  assert.match(await page.locator('[data-testid=running-revision]').innerText(), /No catalog saved yet/);

  // A mistake: marked in the editor, listed with its field path and line.
  await replaceText(page, broken);
  await page.locator(`${CHECK}[data-valid="false"]`).waitFor({ state: 'attached' });
  await page.locator(`${EDITOR} .cm-lintRange-error`).first().waitFor({ state: 'attached' });
  await page.locator(`${EDITOR} .cm-lint-marker-error`).first().waitFor({ state: 'attached' });
  // `long-train` inherits the field, so the line may be named twice.
  const problem = page.locator(`[data-testid=config-problems] li[data-line="${badLine}"]`);
  await problem.first().waitFor({ state: 'attached' });
  const problemText = (await problem.allInnerTexts()).join('\n');
  assert.match(problemText, new RegExp(`line ${badLine}`), `the problem names its line: ${problemText}`);
  assert.match(problemText, /tasks\[0\]\.extraFields\[3\]\.default/, `and its field path: ${problemText}`);
  assert.match(problemText, /not one of the choices/, problemText);

  // Saving it anyway: the server refuses, lists the same problem, and the
  // text stays as typed.
  await page.locator(SAVE).click();
  await page.locator(`${SAVE_RESULT}[data-outcome="refused"]`).waitFor({ state: 'visible' });
  assert.ok(((await page.locator(`${EDITOR} .cm-content`).textContent()) ?? '').includes('default: 48'), 'the editor keeps the refused text');
  assert.equal(await server.api('/api/v1/catalog').then((r) => r.json()).then((c) => c.revision), null, 'nothing was saved');

  // Fixed and saved: revision 1.
  await replaceText(page, catalog);
  await page.locator(`${CHECK}[data-valid="true"]`).waitFor({ state: 'attached' });
  await page.locator(`${EDITOR} .cm-lintRange-error`).waitFor({ state: 'detached' });
  await page.locator(SAVE).click();
  await page.locator(`${SAVE_RESULT}[data-outcome="created"]`).waitFor({ state: 'visible' });
  assert.match(await page.locator(SAVE_RESULT).innerText(), /revision 1\b/);
  await pollUntil(async () => (await page.locator(REVISION_ROW).count()) === 1, { what: '1 revision listed' });

  // The same content again: no revision.
  await page.locator(SAVE).click();
  await page.locator(`${SAVE_RESULT}[data-outcome="unchanged"]`).waitFor({ state: 'visible' });
  assert.match(await page.locator(SAVE_RESULT).innerText(), /No change/);

  // An edit: revision 2.
  await page.locator(`${EDITOR} .cm-content`).click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText('\n# second revision\n');
  await page.locator(SAVE).click();
  await pollUntil(async () => /revision 2\b/.test(await page.locator(SAVE_RESULT).innerText()), { what: 'saved as revision 2' });
  await pollUntil(async () => (await page.locator(REVISION_ROW).count()) === 2, { what: '2 revisions listed' });
  const rows = await texts(page.locator(`${REVISION_ROW} td:nth-child(2)`));
  assert.deepEqual(rows.map((t) => t.trim()), ['ui', 'ui'], 'saved by the UI');

  // Restore revision 1: a third revision, running, and the editor holds it.
  await page.locator(`${REVISION_ROW}[data-id="1"] [data-testid=revision-restore]`).click();
  await page.locator('[data-testid=catalog-restore-result][data-outcome="created"]').waitFor({ state: 'visible' });
  await pollUntil(async () => (await page.locator(REVISION_ROW).count()) === 3, { what: '3 revisions listed' });
  await page.locator(`${REVISION_ROW}[data-id="3"][data-running="true"]`).waitFor({ state: 'attached' });
  await pollUntil(async () => !((await page.locator(`${EDITOR} .cm-content`).textContent()) ?? '').includes('# second revision'), {
    what: 'the editor holding the restored content',
  });
  const revisions = await server.api('/api/v1/catalog/revisions').then((r) => r.json());
  assert.deepEqual(revisions.map((r) => r.id), [3, 2, 1]);
  assert.equal(revisions[0].source, 'restore 1');

  // Revision 2 against the running one: the comment line is removed.
  await page.locator(`${REVISION_ROW}[data-id="2"] [data-testid=revision-diff]`).click();
  await page.locator('[data-testid=code-diff] .del').first().waitFor({ state: 'visible' });
  assert.ok((await texts(page.locator('[data-testid=code-diff] .del'))).some((t) => t.includes('# second revision')));
  await page.locator(`${REVISION_ROW}[data-id="1"] [data-testid=revision-view]`).click();
  await page.locator('[data-testid=revision-content][data-id="1"]').waitFor({ state: 'visible' });
  assert.ok((await page.locator('[data-testid=revision-content]').innerText()).includes('taskType: quick-train'));

  // Launch, through the navigation.
  await page.locator('nav').getByRole('link', { name: 'Launch', exact: true }).click();
  await pollUntil(() => pathname(page) === '/launch', { what: 'the Launch URL' });
  await page.locator('[data-testid=launch-task]').waitFor({ state: 'visible' });
  await page.locator('[data-testid=launch-task]').selectOption('quick-train');
  // The form follows fieldOrder: lr and batch_size first, by group.
  await page.locator('[data-testid=field-lr]').waitFor({ state: 'visible' });
  await pollUntil(async () => (await page.locator(PREVIEW_ROW).count()) === 1, { what: 'one run with the defaults' });
  assert.deepEqual(await previewedArgv(page), [quickTrain('0.01')]);

  // A bad value is named next to its field, and nothing can be queued.
  await page.locator('[data-testid=field-epochs]').fill('5000');
  await page.locator('[data-testid=field-error-epochs]').waitFor({ state: 'visible' });
  assert.match(await page.locator('[data-testid=field-error-epochs]').innerText(), /above the maximum 1000/);
  assert.ok(await page.locator('[data-testid=launch-queue]').isDisabled());
  await page.locator('[data-testid=field-epochs]').fill('');
  await page.locator('[data-testid=field-error-epochs]').waitFor({ state: 'detached' });

  // Two learning rates: a sweep of two runs, each command line shown.
  await page.locator('[data-testid=field-lr]').fill('0.1, 0.01');
  await pollUntil(async () => (await page.locator(PREVIEW_ROW).count()) === 2, { what: 'two previewed runs' });
  const previewed = await previewedArgv(page);
  assert.deepEqual(previewed, [quickTrain('0.1'), quickTrain('0.01')]);
  assert.match(await page.locator('[data-testid=launch-run-count]').innerText(), /2 runs/);
  const commands = await texts(page.locator('[data-testid=launch-command]'));
  assert.equal(commands[0].trim(), quickTrain('0.1').join(' '));

  await page.locator('[data-testid=launch-queue]').click();
  await page.locator('[data-testid=launch-result][data-outcome="queued"]').waitFor({ state: 'visible' });
  const jobIds = await page.locator('[data-testid=launched-job]').evaluateAll((links) => links.map((a) => Number(a.getAttribute('data-id'))));
  assert.equal(jobIds.length, 2, 'two jobs queued');
  const jobs = await server.jobs();
  const commandOf = (id) => jobs.find((j) => j.id === id)?.command;
  assert.deepEqual(jobIds.map(commandOf), previewed, 'the jobs run exactly the previewed command lines');

  // The first job's page says what launched it; Launch again refills the form.
  await page.locator(`[data-testid=launched-job][data-id="${jobIds[0]}"]`).click();
  await pollUntil(() => pathname(page) === `/jobs/${jobIds[0]}`, { what: 'the job page' });
  const facts = page.locator('[data-testid=job-launch]');
  await facts.waitFor({ state: 'visible' });
  assert.equal(await facts.getAttribute('data-task'), 'quick-train');
  assert.equal(await facts.getAttribute('data-revision'), '3');
  await page.locator('[data-testid=launch-again]').click();
  await pollUntil(() => pathname(page) === '/launch', { what: 'back on Launch' });
  assert.equal(new URL(page.url()).searchParams.get('job'), String(jobIds[0]));
  await pollUntil(async () => (await page.locator('[data-testid=field-lr]').inputValue()) === '0.1', { what: 'lr refilled with 0.1' });
  await pollUntil(async () => (await page.locator(PREVIEW_ROW).count()) === 1, { what: 'one run' });
  assert.deepEqual(await previewedArgv(page), [quickTrain('0.1')]);
  assert.ok(await isSameDocument(page, document), 'Catalog, Launch, Job and back without a page reload');
});
