// Tracking: a script that logs with the real MLflow client (mlflow-skinny
// from the project's .venv, MLFLOW_TRACKING_URI pointed at Trainyard) shows
// up as a run: its curves grow live on the run page while it logs, its
// params are in the project's runs table and its artifacts in the run's Files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { screenshot, waitForHydration } from '../lib/browser.mjs';
import { REPO_ROOT } from '../lib/config.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { pollUntil } from '../lib/wait.mjs';

const CHART = (key) => `[data-testid=chart][data-key="${key}"]`;

async function points(page, key) {
  const chart = page.locator(CHART(key));
  if ((await chart.count()) === 0) return 0;
  return Number((await chart.first().getAttribute('data-points')) ?? 0);
}

e2eTest('tracking: an MLflow-logged run\'s curves grow live and its artifacts are on its run page', async (world) => {
  const python = path.join(REPO_ROOT, '.venv', 'bin', 'python');
  await access(python).catch(() => {
    throw new Error('no .venv: run scripts/python-env.sh (scripts/test.sh does)');
  });
  // Loopback without a key, like a lab's laptop (the key path of the MLflow
  // API is covered by the Rust tests).
  const server = await world.startServer({ serverOnly: true });
  const work = await world.tempDir('trainyard-e2e-mlflow-');
  const script = path.join(REPO_ROOT, 'end2end', 'python', 'mlflow_logging.py');
  let stdout = '';
  let stderr = '';
  const child = spawn(python, [script, server.url, '-', work]);
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const runId = await pollUntil(() => stdout.trim().split('\n')[0] || null, {
    what: `the MLflow run id (stderr: ${stderr.slice(-500)})`,
    timeout: 60_000,
  });

  // The run page: 100 steps are there; then the script goes on and the
  // chart grows without a reload.
  const page = await world.newPage();
  await page.goto(`${server.url}/jobs/${runId}`);
  await waitForHydration(page);
  await pollUntil(async () => (await points(page, 'loss')) >= 100, { what: '100 loss points' });
  await writeFile(path.join(work, 'go'), '');
  await pollUntil(async () => (await points(page, 'loss')) >= 200, {
    what: '200 loss points (live, no reload)',
    timeout: 30_000,
  });
  assert.equal(await exited, 0, `the MLflow script failed:\n${stdout}\n${stderr}`);
  assert.equal(await page.locator(CHART('val_acc')).count(), 1, 'one chart per metric key');
  await page.locator('[data-testid=run-files] a[href$="/files/artifacts/report.txt"]').waitFor({ state: 'attached', timeout: 15_000 });
  await page.locator('[data-testid=run-files] a[href$="/files/artifacts/config/model.json"]').waitFor({ state: 'attached' });
  await page.locator('[data-testid=mlflow-run]').waitFor({ state: 'attached' });
  await screenshot(page, 'mlflow-run.png');

  // The project's runs table has it, with its params as columns.
  await page.goto(`${server.url}/projects/mlflow-e2e`);
  await waitForHydration(page);
  const row = page.locator('[data-testid=run-row]', { hasText: 'logged-with-mlflow' });
  await row.waitFor({ state: 'visible' });
  const text = await row.textContent();
  assert.ok(text.includes('0.003') && text.includes('resnet18'), `params in the row: ${text}`);
});
