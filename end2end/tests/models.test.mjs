// Models in the browser: a project's runs ranked by a metric (a run without
// it listed as skipped), the best one published as a model version from the
// project's page, promoted from dev to release, its bundle downloaded through
// the page's link (the same bytes the API serves), the release stage served
// by examples/model_server.py on the agent and answering through the
// server's /serve/… URL, then stopped; and files uploaded from this computer
// as a named version; refusals (a bad model name, a serving command with an
// unknown placeholder, a version name that exists) shown on the page with
// nothing stored.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../lib/config.mjs';
import { pathname, screenshot, waitForHydration } from '../lib/browser.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { pollUntil } from '../lib/wait.mjs';

const SWEEP = `project: zoo
name: "lr{{optimizer.lr}}"
command: python3 examples/train.py
gpus: 0
epochs: 3
step_seconds: 0.1
optimizer:
  lr: [0.5, 0.01]
batch_size: 32
`;

// A run of the same project that logs no metric: ranked as skipped.
const NO_METRIC = `project: zoo
name: quiet
command: python3 -c "print('no metrics here')"
gpus: 0
`;

const versionsOf = (page, stage) => page.locator(`[data-testid=stage-versions][data-stage=${stage}] [data-testid=version-row]`);

/** Drops the console lines of the refusals this test asked for (the browser
 * logs every error answer; a server function's error is a 500 by Leptos'
 * convention), after checking they are exactly the expected calls. */
function allowRefusals(world, count) {
  const expected = /status of (500 \(Internal Server Error\) \(http:[^ ]*\/ui\/(publish_best_run|serve_stage)|409 \(Conflict\) \(http:[^ ]*\/api\/v1\/models\/zoo-cls\/versions)/;
  const seen = world.browserErrors.join('\n');
  const refused = world.allowBrowserErrors((e) => expected.test(e));
  assert.equal(refused.length, count, `expected ${count} refused calls, saw: ${seen}`);
}

e2eTest('models: best run published from a project, promoted, downloaded, and uploaded as a named version', async (world) => {
  const server = await world.startServer({ serverOnly: true });
  for (const body of [SWEEP, NO_METRIC]) {
    const submitted = await server.api('/api/v1/experiments', { method: 'POST', body });
    assert.equal(submitted.status, 201, `submit: ${await submitted.text()}`);
  }
  await world.startAgent(server, { hostId: 'cpu-models', fakeGpus: 0, cwd: REPO_ROOT });
  const jobs = await pollUntil(async () => {
    const all = (await server.jobs()).filter((j) => j.project === 'zoo');
    return all.length === 3 && all.every((j) => j.status === 'succeeded') ? all : undefined;
  }, { what: 'three succeeded jobs in project zoo', timeout: 60_000 });
  const fast = jobs.find((j) => j.name === 'lr0.5');
  const slow = jobs.find((j) => j.name === 'lr0.01');
  const quiet = jobs.find((j) => j.name === 'quiet');
  // The checkpoint reaches the server with the run's other files.
  for (const job of [fast, slow]) {
    await pollUntil(async () => {
      const files = await server.api(`/api/v1/runs/${job.id}/files`).then((r) => r.json());
      return files.some((f) => f.path === 'best_checkpoint.pt');
    }, { what: `best_checkpoint.pt of job ${job.id} on the server` });
  }

  // From the project's page to the Models page, the project filled in.
  const page = await world.newPage();
  await page.goto(`${server.url}/projects/zoo`);
  await waitForHydration(page);
  await page.locator('[data-testid=publish-best-link]').click();
  await pollUntil(async () => pathname(page) === '/models', { what: 'the Models page' });
  await page.locator('[data-testid=models-empty]').waitFor({ state: 'visible' });
  await pollUntil(async () => (await page.locator('[data-testid=best-project]').inputValue()) === 'zoo', { what: 'project zoo chosen' });

  // Ranked by the best validation accuracy: lr 0.5 learns faster; the quiet
  // run is skipped, not dropped.
  await page.locator('[data-testid=best-metric]').fill('val_accuracy');
  await page.locator('[data-testid=rank-runs]').click();
  const ranked = page.locator('[data-testid=ranked-row]');
  await pollUntil(async () => (await ranked.count()) === 2, { what: 'two ranked runs' });
  assert.equal(await ranked.first().getAttribute('data-job-id'), String(fast.id), 'the faster learner ranks first');
  const skipped = page.locator('[data-testid=skipped-runs]');
  assert.match(await skipped.innerText(), /1 run skipped/);
  await skipped.locator('summary').click();
  assert.match(await skipped.innerText(), new RegExp(`#${quiet.id} quiet`));

  // A bad model name: refused, naming the field; nothing is stored.
  await page.locator('[data-testid=publish-model]').fill('Bad Name');
  await page.locator('[data-testid=publish-best-run]').click();
  const refusal = page.locator('[data-testid=publish-error]');
  await refusal.waitFor({ state: 'visible' });
  assert.match(await refusal.innerText(), /Bad Name/);
  assert.deepEqual(await server.api('/api/v1/models').then((r) => r.json()), [], 'no model after a refusal');

  // Published: dev v0001 from the best run, LATEST.
  await page.locator('[data-testid=publish-model]').fill('zoo-cls');
  await page.locator('[data-testid=publish-notes]').fill('first cut');
  await page.locator('[data-testid=publish-best-run]').click();
  const published = page.locator('[data-testid=publish-result]');
  await published.waitFor({ state: 'visible' });
  assert.match(await published.innerText(), new RegExp(`zoo-cls dev v0001 from run #${fast.id}`));
  await page.locator('[data-testid=model-link]', { hasText: 'zoo-cls' }).click();
  await pollUntil(async () => (await versionsOf(page, 'dev').count()) === 1, { what: 'dev v0001 listed' });
  const dev = versionsOf(page, 'dev').first();
  assert.equal(await dev.getAttribute('data-version'), 'v0001');
  assert.equal(await dev.getAttribute('data-latest'), 'true');
  assert.match(await dev.locator('[data-testid=source-metric]').innerText(), /max val_accuracy = 0\.\d+ at step 3/);
  assert.match(await dev.innerText(), /first cut/);

  // Promoted to release, with where it came from.
  await dev.locator('[data-testid=promote-version]').click();
  await pollUntil(async () => (await versionsOf(page, 'release').count()) === 1, { what: 'release v0001 listed' });
  const release = versionsOf(page, 'release').first();
  assert.equal(await release.getAttribute('data-latest'), 'true', "the stage's first version is its LATEST");
  assert.match(await release.locator('[data-testid=source-promotion]').innerText(), /promoted from dev v0001/);

  // The page's download link gives the bundle the API serves, byte for byte.
  const href = await release.locator('[data-testid=bundle-link]').getAttribute('href');
  assert.equal(href, '/api/v1/models/zoo-cls/release/v0001/bundle.tar.gz');
  const viaPage = await page.request.get(`${server.url}${href}`);
  assert.equal(viaPage.status(), 200);
  const bundle = await viaPage.body();
  assert.deepEqual([...bundle.subarray(0, 2)], [0x1f, 0x8b], 'a gzip file');
  const viaApi = Buffer.from(await server.api('/api/v1/models/zoo-cls/release/latest/bundle.tar.gz').then((r) => r.arrayBuffer()));
  assert.ok(bundle.equals(viaApi), 'the same bytes as the API');
  const manifest = await server.api('/api/v1/models/zoo-cls/release/v0001/manifest.json').then((r) => r.json());
  assert.deepEqual(manifest.files.map((f) => f.path), ['best_checkpoint.pt', 'config.yaml']);
  assert.equal(manifest.source.type, 'promotion');
  assert.equal(manifest.source.origin.job_id, fast.id);

  // Served: the agent fetches the bundle, starts the example server on a
  // port of its choosing, and the server's stable URL answers.
  const serving = page.locator('[data-testid=serving][data-stage=release]');
  const serveCommand = `python3 ${path.join(REPO_ROOT, 'examples', 'model_server.py')} --model-dir {model_dir} --port {port}`;
  await serving.locator('[data-testid=serve-command]').fill(serveCommand.replace('{port}', '{prot}'));
  await serving.locator('[data-testid=serve-stage]').click();
  await serving.locator('[data-testid=serve-error]').waitFor({ state: 'visible' });
  assert.match(await serving.locator('[data-testid=serve-error]').innerText(), /\{prot\}/, 'the unknown placeholder is named');
  await serving.locator('[data-testid=serve-command]').fill(serveCommand);
  await serving.locator('[data-testid=serve-stage]').click();
  await serving.locator('[data-testid=serving-state][data-state=serving]').waitFor({ state: 'visible', timeout: 60_000 });
  const url = await serving.locator('[data-testid=serving-url]').getAttribute('href');
  assert.equal(url, '/serve/zoo-cls/release/');
  const checkpoint = await server.api(`/api/v1/runs/${fast.id}/files/best_checkpoint.pt`).then((r) => r.json());
  const predicted = await page.request.post(`${server.url}${url}predict`, { data: { inputs: [[1, 2]] } });
  assert.equal(predicted.status(), 200, await predicted.text());
  const [w1, w2] = checkpoint.weights;
  assert.deepEqual((await predicted.json()).predictions, [w1 * 1 + w2 * 2 + checkpoint.bias], "the best run's weights answer");
  await serving.locator('[data-testid=stop-serving]').click();
  await serving.locator('[data-testid=serving-state][data-state=stopped]').waitFor({ state: 'visible' });
  assert.equal((await page.request.get(`${server.url}${url}health`)).status(), 404, 'nothing serves the stage once stopped');

  // An upload from this computer, as a named version; the same name again is
  // refused and changes nothing.
  const local = path.join(await world.tempDir('trainyard-e2e-upload-'), 'weights.pt');
  await writeFile(local, 'uploaded weights\n');
  const upload = page.locator('[data-testid=model-upload]');
  await upload.locator('[data-testid=upload-version]').fill('2026.1');
  await upload.locator('[data-testid=upload-files]').setInputFiles(local);
  await upload.locator('[data-testid=upload-model-files]').click();
  await pollUntil(async () => /zoo-cls dev 2026\.1: 1 files/.test(await upload.innerText()), { what: 'the upload result' });
  await pollUntil(async () => (await versionsOf(page, 'dev').count()) === 2, { what: 'the upload listed' });
  await upload.locator('[data-testid=upload-model-files]').click();
  await upload.locator('[data-testid=upload-error]').waitFor({ state: 'visible' });
  assert.match(await upload.locator('[data-testid=upload-error]').innerText(), /2026\.1/);
  const model = await server.api('/api/v1/models/zoo-cls').then((r) => r.json());
  const devStage = model.stages.find((s) => s.stage === 'dev');
  assert.deepEqual(devStage.versions.map((v) => v.version), ['v0001', '2026.1']);
  assert.equal(devStage.latest, 'v0001', 'an upload moves LATEST only when asked');

  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'models.png');
  allowRefusals(world, 3);
}, { timeout: 180_000 });
