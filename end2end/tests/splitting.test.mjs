// Code splitting: the first load of `/` stays within its wasm budget, every
// page loads by deep link with only its own chunks (in one pack, and one by
// one when packs fail), client-side navigation and back/forward work across
// chunks, and the live stream resumes after the browser was offline.
import assert from 'node:assert/strict';
import { isSameDocument, markDocument, pathname, waitForHydration } from '../lib/browser.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { hydratedAt, totalEncoded, wasmTransfers } from '../lib/page_metrics.mjs';
import { seedProject } from '../lib/seed.mjs';
import { pollUntil } from '../lib/wait.mjs';

/**
 * Wasm the first load of `/` may transfer before it is hydrated, as the
 * browser receives it (brotli: the release build precompresses the site).
 * Issue 12 asks for 250 KB; the shell is 219.7 KB (2026-12-02; what is in
 * it and why: docs/benchmarks.md, "First load and wasm size"). The budget
 * leaves ~10 KB of room for builds on other machines; growth beyond that
 * fails here, loudly. So does the splitter leaving every page's data in the
 * shell again (frontend/src/split_data_slack.rs): +57 KB.
 */
const FIRST_LOAD_BUDGET = 230_000;
/**
 * Wasm any single page may need to be hydrated (target 400 KB). Every page
 * is under it; the Job page is the largest at 394.3 KB (2026-12-02, night).
 * Like the first load's, the budget leaves ~10 KB of room for builds on
 * other machines.
 */
const PAGE_BUDGET = 405_000;

const describe = (transfers) =>
  transfers.map((t) => `${t.path} ${t.encodedBytes} B${t.beforeHydration ? '' : ' (after hydration)'}`).join(', ');

e2eTest('splitting: `/` loads within the wasm budget and each page brings only its chunks', async (world) => {
  const server = await world.startServer();
  // An MLflow run id is its job id.
  const [jobId] = await seedProject(server, { name: 'demo', runs: 2, steps: 20 });

  // A fresh page per load: nothing cached, like a first visit.
  const firstVisit = async (path) => {
    const page = await world.newPage();
    await page.context().clearCookies();
    const response = await page.goto(`${server.url}${path}`);
    assert.equal(response.status(), 200, `GET ${path}`);
    await hydratedAt(page);
    await waitForHydration(page);
    const transfers = await wasmTransfers(page);
    await page.close();
    return transfers;
  };

  const home = await firstVisit('/');
  const critical = totalEncoded(home, (t) => t.beforeHydration);
  assert.ok(critical > 0, `the first load of / fetched wasm (${describe(home)})`);
  assert.ok(
    critical <= FIRST_LOAD_BUDGET,
    `the first load of / transferred ${critical} B of wasm before hydration, over the ${FIRST_LOAD_BUDGET} B budget: ${describe(home)}`,
  );

  for (const path of ['/devices', '/queue', '/execute', '/launch', '/catalog', `/jobs/${jobId}`, '/projects', '/projects/demo', `/compare?runs=${jobId}`, '/components', '/settings', '/models']) {
    const transfers = await firstVisit(path);
    const needed = totalEncoded(transfers, (t) => t.beforeHydration);
    assert.ok(needed <= PAGE_BUDGET, `${path} needed ${needed} B of wasm, over the ${PAGE_BUDGET} B budget: ${describe(transfers)}`);
    // Its own chunk arrived before hydration: more than the shell alone.
    assert.ok(transfers.filter((t) => t.beforeHydration).length >= 2, `${path} hydrated with its own chunk preloaded: ${describe(transfers)}`);
  }
});

e2eTest('splitting: navigation, back/forward and an offline spell keep working across chunks', async (world) => {
  const server = await world.startServer();
  await seedProject(server, { name: 'demo', runs: 2, steps: 20 });
  const page = await world.newPage();
  await page.goto(`${server.url}/`);
  await waitForHydration(page);
  const document = await markDocument(page);
  const heading = () => page.locator('h1').first().textContent().then((t) => (t ?? '').trim());

  // Dashboard (shell) → Projects (chunk) → demo (chunk) → a run (chunk).
  await page.locator('nav').getByRole('link', { name: 'Projects', exact: true }).click();
  await pollUntil(async () => /Projects/.test(await heading()), { what: 'the Projects page' });
  await page.locator('[data-testid=project-row] a', { hasText: 'demo' }).click();
  await pollUntil(() => pathname(page) === '/projects/demo', { what: 'the demo project page' });
  await pollUntil(async () => /demo/.test(await heading()), { what: 'the demo heading' });

  await page.goBack();
  await pollUntil(async () => pathname(page) === '/projects' && /Projects/.test(await heading()), { what: 'back to Projects' });
  await page.goBack();
  await pollUntil(async () => pathname(page) === '/' && /Dashboard/.test(await heading()), { what: 'back to the Dashboard' });
  await page.goForward();
  await pollUntil(async () => pathname(page) === '/projects' && /Projects/.test(await heading()), { what: 'forward to Projects' });
  assert.ok(await isSameDocument(page, document), 'no full page load while navigating');
  await page.locator('[data-testid=project-row]').first().waitFor();

  // Offline, and the server restarts meanwhile: the live stream drops; once
  // both are back it reconnects by itself and the page keeps working.
  const port = Number(new URL(server.url).port);
  const warnings = [];
  page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
  await page.context().setOffline(true);
  await server.child.stop();
  await pollUntil(async () => (await page.locator('[data-testid=live-status]').getAttribute('data-connected')) !== 'true', {
    what: 'the live indicator to show the stream is down',
  });
  // A page whose chunks were never loaded, opened during the spell: its
  // chunks cannot be fetched, and the loader (which cannot recover from a
  // failed chunk) is kept waiting until they can, not failed.
  await page.locator('nav').getByRole('link', { name: 'Models', exact: true }).click();
  await pollUntil(() => warnings.some((w) => /chunk pack: .* is out of reach; trying again/.test(w)), {
    what: 'the Models page\'s chunks to wait for the network',
  });
  const again = await world.startServer({ dataDir: server.dataDir, port });
  await page.context().setOffline(false);
  await pollUntil(async () => /Models/.test(await heading()), { what: 'the Models page once back online' });
  await waitForHydration(page);
  // Chromium logs each failed reconnect of the stream as a failed load, and
  // each fetch of a chunk or pack tried during the spell (the Models page's,
  // or an idle-time prefetch's), and a server call the page made just as
  // the spell began (the fleet counts refresh on every event): expected
  // during the spell, and the only errors allowed. A chunk's failed load
  // would panic the wasm: it is not among them.
  const offline = /ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED|ERR_SOCKET_NOT_CONNECTED/;
  const dropped = (e) =>
    (/\/(?:api\/v1\/events|ui\/\w+)/.test(e) && offline.test(e))
    || (/\/pkg\/(?:(?:chunk|split)_\w+\.wasm|pack\?)/.test(e) && offline.test(e));
  world.allowBrowserErrors(dropped);
  await page.locator('nav').getByRole('link', { name: 'Queue', exact: true }).click();
  await pollUntil(async () => /Queue/.test(await heading()), { what: 'the Queue page after coming back online' });
  assert.ok(await isSameDocument(page, document), 'still the same document after the offline spell');

  // A reload on a lazy page's deep link is server-rendered and hydrated.
  await page.goto(`${again.url}/projects/demo`);
  await waitForHydration(page);
  assert.match(await heading(), /demo/);
});

e2eTest('splitting: a page whose chunks are gone after an upgrade asks for a reload instead of breaking', async (world) => {
  const server = await world.startServer();
  const page = await world.newPage();
  await page.goto(`${server.url}/`);
  await waitForHydration(page);
  const document = await markDocument(page);
  const heading = () => page.locator('h1').first().textContent().then((t) => (t ?? '').trim());

  // The site was upgraded under the open tab: every chunk it has not loaded
  // yet is gone (renamed). Settings is not prefetched from the Dashboard.
  const gone = /\/pkg\/(?:pack\?|(?:chunk|split)_\w+\.wasm)/;
  await page.route(gone, (route) => route.fulfill({ status: 404, body: 'not found' }));
  await page.locator('nav').getByRole('link', { name: 'Settings', exact: true }).click();
  const notice = page.locator('[data-testid=upgrade-notice]');
  await notice.waitFor();
  assert.match(await notice.textContent(), /upgraded while this tab was open/);
  // The page did not break: same document, still live, still navigable.
  assert.ok(await isSameDocument(page, document), 'no reload without asking');
  assert.match(await heading(), /Dashboard/);
  await page.locator('nav').getByRole('link', { name: 'Dashboard', exact: true }).click();
  assert.match(await heading(), /Dashboard/);
  // Chromium logs each 404: the only errors allowed. A panic would be another.
  const missing = world.allowBrowserErrors((e) => gone.test(e) && /404/.test(e));
  assert.ok(missing.length >= 1, 'the chunks were answered 404');

  // Reload: the upgraded site serves the page.
  await page.unroute(gone);
  const reloaded = page.waitForEvent('load');
  await notice.getByRole('button', { name: 'Reload' }).click();
  await reloaded;
  await waitForHydration(page);
  assert.ok(!(await isSameDocument(page, document)), 'the page was reloaded');
  await page.locator('nav').getByRole('link', { name: 'Settings', exact: true }).click();
  await pollUntil(async () => /Settings/.test(await heading()), { what: 'the Settings page after the reload' });
});

/** The wasm requests a page made: `{ path, search }` per Resource Timing entry. */
const wasmRequests = (page) =>
  page.evaluate(() => performance.getEntriesByType('resource')
    .map((e) => new URL(e.name))
    .filter((u) => u.pathname.startsWith('/pkg/') && (u.pathname.endsWith('.wasm') || u.pathname === '/pkg/pack'))
    .map((u) => ({ path: u.pathname, search: u.search })));

e2eTest('splitting: a lazy page by URL fetches its chunks as one pack, and one by one when packs fail', async (world) => {
  const server = await world.startServer();
  await seedProject(server, { name: 'demo', runs: 2, steps: 20 });

  // By URL: the shell's wasm and one pack, not one request per chunk.
  const page = await world.newPage();
  await page.goto(`${server.url}/queue`);
  await hydratedAt(page);
  await waitForHydration(page);
  const byUrl = await wasmRequests(page);
  const packs = byUrl.filter((r) => r.path === '/pkg/pack');
  const single = byUrl.filter((r) => /\/pkg\/(?:chunk|split)_/.test(r.path));
  assert.ok(packs.length >= 1, `/queue fetched a pack: ${JSON.stringify(byUrl)}`);
  assert.ok(packs[0].search.split(',').length > 50, `the pack holds the page's chunks: ${packs[0].search.length} chars`);
  assert.equal(single.length, 0, `no chunk fetched on its own: ${JSON.stringify(single)}`);
  // A client-side navigation gathers the next page's new chunks (those the
  // Queue page did not already load) into one pack, as does the idle-time
  // prefetch of the pages likely next.
  await page.locator('nav').getByRole('link', { name: 'Projects', exact: true }).click();
  await pollUntil(async () => /Projects/.test((await page.locator('h1').first().textContent()) ?? ''), { what: 'the Projects page' });
  await waitForHydration(page);
  const later = (await wasmRequests(page)).slice(byUrl.length);
  const projectsPacks = later.filter((r) => r.path === '/pkg/pack' && r.search.includes('split___projects_route_view'));
  assert.equal(projectsPacks.length, 1, `one pack brought the Projects page: ${JSON.stringify(later)}`);
  assert.deepEqual(later.filter((r) => r.path !== '/pkg/pack'), [], 'every chunk after the first load came in a pack');
  await page.close();

  // Packs refused (an old proxy, a cut connection): every chunk is fetched on
  // its own and the page still hydrates and navigates. The proxy also
  // answers each chunk's first request 503 (its server restarting): the
  // chunk is asked for again, not failed.
  const fallback = await world.newPage();
  await fallback.route(/\/pkg\/pack\?/, (route) => route.fulfill({ status: 503, body: 'no packs here' }));
  const answered503 = new Set();
  await fallback.route(/\/pkg\/(?:chunk|split)_\w+\.wasm$/, (route) => {
    const url = route.request().url();
    if (answered503.has(url)) return route.continue();
    answered503.add(url);
    return route.fulfill({ status: 503, body: 'restarting' });
  });
  await fallback.goto(`${server.url}/queue`);
  await hydratedAt(fallback);
  await waitForHydration(fallback);
  const oneByOne = (await wasmRequests(fallback)).filter((r) => /\/pkg\/(?:chunk|split)_/.test(r.path));
  assert.ok(oneByOne.length > 50, `each chunk fetched on its own: ${oneByOne.length}`);
  await fallback.locator('nav').getByRole('link', { name: 'Projects', exact: true }).click();
  await pollUntil(async () => /Projects/.test((await fallback.locator('h1').first().textContent()) ?? ''), { what: 'Projects without packs' });
  // Closed first: the Projects page's idle-time prefetch asks for one more
  // pack, which would be refused after the allowance below.
  await fallback.close();
  assert.ok(answered503.size > 50, `each chunk was answered 503 once, then fetched again: ${answered503.size}`);
  // Chromium logs each refused pack and chunk; the only errors allowed.
  const refused = world.allowBrowserErrors((e) => /\/pkg\/(?:pack\?|(?:chunk|split)_)/.test(e) && /503/.test(e));
  assert.ok(refused.length >= 1, 'the packs were refused');

  // A pack that arrives damaged (a proxy cut it short, or rewrote it): its
  // count does not match, and the chunks are fetched one by one again.
  const damaged = await world.newPage();
  const warnings = [];
  damaged.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
  await damaged.route(/\/pkg\/pack\?/, (route) => route.fulfill({ status: 200, body: Buffer.from([7, 0, 0, 0, 1, 2]) }));
  await damaged.goto(`${server.url}/queue`);
  await hydratedAt(damaged);
  await waitForHydration(damaged);
  const refetched = (await wasmRequests(damaged)).filter((r) => /\/pkg\/(?:chunk|split)_/.test(r.path));
  assert.ok(refetched.length > 50, `each chunk fetched on its own after a damaged pack: ${refetched.length}`);
  assert.ok(warnings.some((w) => /chunk pack: .*7 files, expected \d+; fetching its chunks one by one/.test(w)), warnings.join('\n'));
});
