// Imports: a CVLab-Kit style logs/<project>/<run>.{csv,yaml,pt} tree given
// with --import-dir shows up on the Projects page with its runs, parameters
// and final metrics; a run added to the tree appears within seconds without
// a re-index; the Re-index button reports what it read; the run's page lists
// its files with downloads. A malformed CSV line is skipped, the rest indexed.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathname, waitForHydration } from '../lib/browser.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { pollUntil } from '../lib/wait.mjs';

e2eTest('imports: an existing log tree is indexed, watched and re-indexed', async (world) => {
  const logs = await world.tempDir('trainyard-e2e-logs-');
  const project = path.join(logs, 'cifar');
  await mkdir(project, { recursive: true });
  await writeFile(path.join(project, 'resnet.csv'), 'step,epoch,loss,acc\n0,0,2.0,0.1\n1,1,1.4,0.5\nbroken,line,with,too,many\n2,2,1.1,0.6\n');
  await writeFile(path.join(project, 'resnet_config.yaml'), 'model:\n  name: resnet18\nlr: 0.1\nepochs: 3\n');
  await writeFile(path.join(project, 'resnet.pt'), Buffer.from([1, 2, 3, 4]));

  const server = await world.startServer({ serverOnly: true, extraArgs: ['--import-dir', logs] });
  const page = await world.newPage();
  await page.goto(`${server.url}/projects`);
  await waitForHydration(page);
  const row = page.locator('[data-testid=project-row]', { hasText: 'cifar' });
  await row.waitFor({ state: 'visible' });
  await page.locator('[data-testid=imports]').waitFor({ state: 'visible' });

  // A new run written into the tree is indexed by the watcher, no button.
  await writeFile(path.join(project, 'vit.csv'), 'step,loss\n0,3.0\n1,2.5\n');
  await row.locator('a').click();
  await pollUntil(() => pathname(page) === '/projects/cifar', { what: 'the cifar project page' });
  await pollUntil(async () => {
    await page.reload();
    await waitForHydration(page);
    return (await page.locator('[data-testid=run-row]').count()) === 2;
  }, { what: 'both imported runs listed (the new one found by the watcher)', timeout: 20_000 });
  const headers = (await page.locator('[data-testid=runs] thead th').allTextContents()).join('|');
  assert.match(headers, /model\.name/, `config parameters are columns: ${headers}`);
  assert.match(headers, /loss/, `final metrics are columns: ${headers}`);

  // The run's page lists its files from the tree, downloadable.
  const resnet = page.locator('[data-testid=run-row]', { hasText: 'resnet' });
  await resnet.locator('a', { hasText: 'resnet' }).first().click();
  await pollUntil(() => /^\/jobs\/\d+$/.test(pathname(page)), { what: 'the imported run page' });
  const download = page.locator('a[href$="/files/resnet.pt"]');
  await download.waitFor({ state: 'attached' });
  const id = pathname(page).split('/').pop();
  const file = await server.api(`/api/v1/runs/${id}/files/resnet.pt`);
  assert.equal(file.status, 200);
  assert.deepEqual([...new Uint8Array(await file.arrayBuffer())], [1, 2, 3, 4]);
  const problems = await (await server.api(`/api/v1/runs/${id}/problems`)).json();
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.equal(problems[0].line, 4);
  const loss = (await (await server.api(`/api/v1/runs/${id}/metrics`)).json()).find((m) => m.key === 'loss');
  assert.equal(loss.count, 3, 'the malformed line skipped, the rest indexed');

  // Re-index reads every run again and says so.
  await page.goto(`${server.url}/projects`);
  await waitForHydration(page);
  await page.locator('[data-testid=reindex]').click();
  const report = page.locator('[data-testid=reindex-report]');
  await report.waitFor({ state: 'visible' });
  assert.match(await report.textContent(), /Re-indexed 2 runs \(0 new, 2 updated\)/);
});
