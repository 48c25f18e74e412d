// Components: a CVLab-Kit tree given with --components-dir is scanned into
// the store; the Components page shows its history, code and diffs, takes
// an upload and rolls back with Activate; a job referencing a component gets
// the active version on its worker before it starts, and its manifest shows
// on the Job page. A worker's local edit (interactive) rings the bell; the
// answer given in the browser is carried out at the host's next sync.
// Then CVLab-Kit's own client (its component_manager.py, fetched from its
// repository at a pinned commit) syncs, uploads and restores against the
// same kind of server.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { screenshot, waitForHydration } from '../lib/browser.mjs';
import { REPO_ROOT } from '../lib/config.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { pollUntil } from '../lib/wait.mjs';

const KEY = 'components-e2e-key-0123456789';

/** A CVLab-Kit tree with an agent and three components. */
async function componentsTree(world) {
  const root = await world.tempDir('trainyard-e2e-components-');
  const files = {
    'cvlabkit/agent/classification.py': 'class Classification:\n    pass\n',
    'cvlabkit/component/model/toy.py': 'VERSION = "v1"\n',
    'cvlabkit/component/loss/cross_entropy.py': 'def loss(a, b):\n    return a - b\n',
    'cvlabkit/component/metric/accuracy.py': 'def accuracy(p, y):\n    return (p == y).mean()\n',
    'cvlabkit/component/base/ignored.py': 'BASE = True\n',
  };
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
  return root;
}

async function json(response) {
  const text = await response.text();
  assert.ok(response.ok, `${response.status}: ${text}`);
  return JSON.parse(text);
}

/** The job's id once its output has `text`, after it finished. */
async function finishedJob(server, id) {
  return pollUntil(async () => {
    const detail = await json(await server.api(`/api/v1/jobs/${id}`));
    return ['succeeded', 'failed'].includes(detail.status) ? detail : undefined;
  }, { what: `job ${id} to finish` });
}

async function submit(server, yaml) {
  const created = await json(await server.api('/api/v1/experiments', { method: 'POST', body: yaml }));
  return created.jobs[0].id;
}

async function logOf(server, id) {
  return (await server.api(`/api/v1/jobs/${id}/log`)).text();
}

const JOB = 'project: components\nname: toy-run\ngpus: 0\nmodel: toy\nloss: cross_entropy\n'
  + 'command: [sh, -c, "cat cvlabkit/component/model/toy.py"]\n';

e2eTest('components: scan, history, diff, rollback, a job\'s manifest, a conflict answered in the browser', async (world) => {
  const tree = await componentsTree(world);
  const server = await world.startServer({ serverOnly: true, extraArgs: ['--components-dir', tree] });
  const workerDir = await world.tempDir('trainyard-e2e-worker-');
  world.startAgent(server, { hostId: 'gpu-components', cwd: workerDir });

  // The store was filled at start (base/ is not a category).
  const page = await world.newPage();
  await page.goto(`${server.url}/components`);
  await waitForHydration(page);
  const links = page.locator('[data-testid=component-link]');
  await pollUntil(async () => (await links.count()) === 4, { what: 'four components listed' });
  await page.locator('[data-testid=scan-components]').click();
  await page.locator('[data-testid=scan-result]', { hasText: '4 files read, 0 new versions' }).waitFor();

  // Upload a second version of model/toy.py from the browser: it is active.
  await page.locator('[data-testid=upload-path]').fill('model/toy.py');
  await page.locator('[data-testid=upload-content]').fill('VERSION = "v2"\n');
  await page.locator('[data-testid=upload-component]').click();
  await page.locator('[data-testid=upload-result]', { hasText: 'new version, active' }).waitFor();

  // History, code, diff.
  await page.goto(`${server.url}/components?path=model/toy.py`);
  await waitForHydration(page);
  const rows = page.locator('[data-testid=version-row]');
  await pollUntil(async () => (await rows.count()) === 2, { what: 'two versions of model/toy.py' });
  assert.equal(await rows.first().getAttribute('data-active'), 'true', 'the newest upload is active');
  await page.locator('[data-testid=code-viewer][data-ready=true]').waitFor();
  assert.match(await page.locator('[data-testid=code-viewer]').textContent(), /v2/);
  await rows.nth(0).locator('input[type=checkbox]').check();
  await rows.nth(1).locator('input[type=checkbox]').check();
  await page.locator('[data-testid=compare-versions]').click();
  const diff = page.locator('[data-testid=code-diff]');
  await diff.waitFor();
  const diffText = await diff.textContent();
  assert.match(diffText, /-VERSION = "v2"/);
  assert.match(diffText, /\+VERSION = "v1"/);

  await screenshot(page, 'components.png');

  // Roll back: activate v1.
  await rows.nth(1).locator('[data-testid=activate-version]').click();
  await pollUntil(async () => (await rows.nth(1).getAttribute('data-active')) === 'true', { what: 'v1 active after Activate' });
  // The URL names no version, so the code shown follows the active one.
  await pollUntil(
    async () => /"v1"/.test(await page.locator('[data-testid=code-viewer]').textContent()),
    { what: 'the code of v1, active after Activate' },
  );

  // A job referencing the component runs with the active (rolled-back) version.
  const first = await submit(server, JOB);
  const done = await finishedJob(server, first);
  assert.equal(done.status, 'succeeded', await logOf(server, first));
  assert.match(await logOf(server, first), /VERSION = "v1"/, 'the process saw the active version');
  await page.goto(`${server.url}/jobs/${first}`);
  await waitForHydration(page);
  const entries = page.locator('[data-testid=manifest-entry]');
  await pollUntil(async () => (await entries.count()) === 2, { what: 'the manifest lists model and loss' });
  assert.match(await page.locator('[data-testid=job-manifest]').textContent(), /model\/toy\.py/);

  // The worker's own edit (interactive): the job runs it, the bell rings.
  const local = path.join(workerDir, 'cvlabkit/component/model/toy.py');
  await writeFile(local, 'VERSION = "edited on the worker"\n');
  const second = await submit(server, JOB);
  await finishedJob(server, second);
  assert.match(await logOf(server, second), /edited on the worker/, 'the local change ran as it is');
  assert.match(await logOf(server, second), /answer the notification/, 'the log says a person decides');
  await page.goto(`${server.url}/queue`);
  await waitForHydration(page);
  await page.locator('[data-testid=notice-count]', { hasText: '1' }).waitFor();
  await page.locator('[data-testid=notice-bell]').click();
  const notice = page.locator('[data-testid=notice]');
  assert.match(await notice.locator('[data-testid=notice-path]').textContent(), /model\/toy\.py/);
  await notice.locator('button', { hasText: 'Show diff' }).click();
  assert.match(await notice.locator('[data-testid=code-diff]').textContent(), /\+VERSION = "edited on the worker"/);
  await screenshot(page, 'notifications.png');
  await notice.locator('[data-testid=notice-upload]').click();
  await pollUntil(async () => (await page.locator('[data-testid=notice-count]').count()) === 0, { what: 'the bell empty after answering' });

  // The host carries the answer out at its next sync: the edit is uploaded and active.
  const third = await submit(server, JOB);
  await finishedJob(server, third);
  const versions = (await json(await server.api('/api/v1/components/versions/model/toy'))).data;
  const active = versions.find((v) => v.is_active);
  const localHash = (await json(await server.api(`/api/v1/jobs/${third}/manifest`))).entries.find((e) => e.path === 'model/toy.py').hash;
  assert.equal(active.hash, localHash, 'the worker\'s edit is the active version now');
  assert.equal(versions.length, 3, 'nothing was overwritten: v1, v2 and the edit');

  // Bad input changes nothing.
  const bad = await server.api('/api/v1/components/versions/upload', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ path: 'widget/../../etc.py', content: 'x' }),
  });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).message, /not <category>\/<name>\.py|valid categories/);
  world.assertNoBrowserErrors();
});

/** CVLab-Kit's client file: TRAINYARD_CVLABKIT_CLIENT, or downloaded. */
const CLIENT_COMMIT = '88e8974f583bdc2abfe83f42b9e2fba55b7a2fbf';
const CLIENT_SHA256 = '43b6c048609579973fc2b33dfd80217680ddb59da57c95974220c12525dec35f';

async function cvlabkitClient(world) {
  const given = process.env.TRAINYARD_CVLABKIT_CLIENT;
  let text;
  if (given) {
    text = await readFile(given);
  } else {
    const url = `https://raw.githubusercontent.com/deveronica/cvlab-kit/${CLIENT_COMMIT}/web_helper/middleend/component_manager.py`;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = Buffer.from(await response.arrayBuffer());
    } catch (err) {
      return { missing: `cannot download CVLab-Kit's client from ${url}: ${err.message}` };
    }
  }
  const sha = createHash('sha256').update(text).digest('hex');
  assert.equal(sha, CLIENT_SHA256, 'the CVLab-Kit client is the pinned version');
  const dir = await world.tempDir('trainyard-e2e-cvlabkit-');
  const file = path.join(dir, 'component_manager.py');
  await writeFile(file, text);
  return { file };
}

e2eTest('components: CVLab-Kit\'s own ComponentManager syncs, uploads and restores against Trainyard', async (world) => {
  const python = path.join(REPO_ROOT, '.venv', 'bin', 'python');
  await access(python).catch(() => {
    throw new Error('no .venv: run scripts/python-env.sh (scripts/test.sh does)');
  });
  const client = await cvlabkitClient(world);
  if (client.missing) {
    // Without GitHub (some CI networks) the client cannot be had; this is
    // said, not hidden, and TRAINYARD_REQUIRE_CVLABKIT=1 makes it a failure.
    assert.ok(process.env.TRAINYARD_REQUIRE_CVLABKIT !== '1', client.missing);
    console.log(`# NOT RUN: ${client.missing} (set TRAINYARD_CVLABKIT_CLIENT to a copy)`);
    return;
  }
  const tree = await componentsTree(world);
  const server = await world.startServer({ serverOnly: true, apiKey: KEY, extraArgs: ['--components-dir', tree] });
  const work = await world.tempDir('trainyard-e2e-cvlabkit-work-');
  const script = path.join(REPO_ROOT, 'end2end', 'python', 'cvlabkit_components.py');
  const out = await new Promise((resolve, reject) => {
    const child = spawn(python, [script, client.file, server.url, KEY, work]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(out.code, 0, `the client scenario failed:\n${out.stdout}\n${out.stderr}`);
  const seen = JSON.parse(out.stdout.trim().split('\n').pop());
  assert.equal(seen.synced, 4);
  assert.equal(seen.restored, 4);
});
