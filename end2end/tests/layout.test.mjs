// The shared layout: client-side navigation between every page, the
// "not built yet" placeholders, and the remembered theme.
import assert from 'node:assert/strict';
import { isSameDocument, markDocument, pathname, waitForHydration } from '../lib/browser.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { pollUntil } from '../lib/wait.mjs';

/**
 * Nav link text, path, expected heading, and whether the page is a
 * placeholder (Settings manages notifications; the rest of it is read-only).
 */
const PAGES = [
  { link: 'Launch', path: '/launch', heading: /Launch/i, notBuilt: false },
  { link: 'Execute', path: '/execute', heading: /Execute/i, notBuilt: false },
  { link: 'Queue', path: '/queue', heading: /Queue/i, notBuilt: false },
  { link: 'Projects', path: '/projects', heading: /Projects/i, notBuilt: false },
  { link: 'Devices', path: '/devices', heading: /Devices/i, notBuilt: false },
  { link: 'Components', path: '/components', heading: /Components/i, notBuilt: false },
  { link: 'Catalog', path: '/catalog', heading: /Catalog/i, notBuilt: false },
  { link: 'Settings', path: '/settings', heading: /Settings/i, notBuilt: false },
  { link: 'Dashboard', path: '/', heading: /Dashboard/i, notBuilt: false },
];

const headingText = (page) => page.locator('h1').first().textContent().then((t) => (t ?? '').trim());

e2eTest('layout: every nav link navigates client-side to its page', async (world) => {
  const server = await world.startServer();
  const page = await world.newPage();
  await page.goto(`${server.url}/`);
  await waitForHydration(page);
  const document = await markDocument(page);

  const nav = page.locator('nav');
  for (const { link, path } of PAGES) {
    const href = await nav.getByRole('link', { name: link, exact: true }).getAttribute('href');
    assert.equal(href, path, `nav link "${link}" points at ${path}`);
  }

  for (const { link, path, heading, notBuilt } of PAGES) {
    await nav.getByRole('link', { name: link, exact: true }).click();
    await pollUntil(() => pathname(page) === path, { what: `URL path ${path} after clicking "${link}"` });
    await pollUntil(async () => heading.test(await headingText(page)), {
      what: `an h1 matching ${heading} on ${path}`,
    });
    if (notBuilt !== null) {
      const text = await page.locator('body').innerText();
      assert.equal(/not built yet/i.test(text), notBuilt, `${path} ${notBuilt ? 'says' : 'does not say'} "not built yet"`);
    }
    assert.ok(await isSameDocument(page, document), `"${link}" navigated without a full page load`);
  }
  assert.ok(await page.locator('[data-testid=live-status][data-connected="true"]').count(), 'still live after navigating');
});

e2eTest('layout: pages load directly by URL (server-rendered and hydrated)', async (world) => {
  const server = await world.startServer();
  const page = await world.newPage();
  for (const { path, heading, notBuilt } of PAGES) {
    const response = await page.goto(`${server.url}${path}`);
    assert.equal(response.status(), 200, `GET ${path}`);
    // The heading is in the server's HTML, before any wasm runs.
    const html = await response.text();
    assert.match(html, /<h1[^>]*>/, `${path}: the server-rendered HTML has an h1`);
    if (notBuilt) assert.match(html, /not built yet/i, `${path}: the server-rendered HTML says "not built yet"`);
    await waitForHydration(page);
    assert.match(await headingText(page), heading, `${path} heading`);
  }
});

e2eTest('layout: the theme toggle switches data-theme and survives a reload', async (world) => {
  const server = await world.startServer();
  const page = await world.newPage();
  const theme = () => page.locator('html').getAttribute('data-theme');
  await page.goto(`${server.url}/devices`);
  await waitForHydration(page);

  const first = await theme();
  assert.ok(first === 'light' || first === 'dark', `data-theme is light or dark, not ${JSON.stringify(first)}`);
  const other = first === 'light' ? 'dark' : 'light';

  await page.click('[data-testid=theme-toggle]');
  await pollUntil(async () => (await theme()) === other, { what: `data-theme to switch to ${other}` });

  await page.reload();
  // Before hydration too: the remembered theme applies on first paint.
  assert.equal(await theme(), other, 'the server-rendered page picks up the remembered theme at once');
  await waitForHydration(page);
  assert.equal(await theme(), other, 'the choice survives a reload');

  await page.click('[data-testid=theme-toggle]');
  await pollUntil(async () => (await theme()) === first, { what: `data-theme to switch back to ${first}` });
  await page.reload();
  await waitForHydration(page);
  assert.equal(await theme(), first, 'switching back is remembered too');
});
