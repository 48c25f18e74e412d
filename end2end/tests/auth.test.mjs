// A server with an API key: the REST API wants the bearer token, the UI a
// login; and listening beyond loopback without a key is refused.
import assert from 'node:assert/strict';
import { SERVER_BIN, SITE_ROOT } from '../lib/config.mjs';
import { pathname, texts, waitForHydration } from '../lib/browser.mjs';
import { e2eTest } from '../lib/harness.mjs';
import { Child, childEnv } from '../lib/processes.mjs';
import { pollUntil } from '../lib/wait.mjs';

const API_KEY = 'e2e-secret-key-0123456789abcdef';
const HOST_ID = 'gpu-e2e';

e2eTest('auth: the REST API answers 401 JSON without the key and 200 with it', async (world) => {
  const server = await world.startServer({ apiKey: API_KEY });

  for (const token of [undefined, 'wrong-key-0123456789abcdef']) {
    const response = await server.api('/api/v1/hosts', { token: token ?? null });
    assert.equal(response.status, 401, `GET /api/v1/hosts with ${token ? 'a wrong' : 'no'} token`);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    const body = await response.json();
    assert.equal(body.code, 'unauthorized');
    assert.equal(typeof body.message, 'string');
  }
  const ok = await server.api('/api/v1/hosts');
  assert.equal(ok.status, 200, 'GET /api/v1/hosts with the key');
  const page = await ok.json();
  assert.ok(Array.isArray(page.hosts) && page.total === 0, `a page of hosts: ${JSON.stringify(page)}`);
  assert.equal((await server.api('/api/v1/events', { token: null })).status, 401, 'the event stream needs the key too');
});

e2eTest('auth: the UI asks for the key, refuses a wrong one and shows live data after login', async (world) => {
  const server = await world.startServer({ apiKey: API_KEY });
  await world.startAgent(server, { hostId: HOST_ID, fakeGpus: 2, token: API_KEY });
  await pollUntil(async () => (await server.hosts()).some((h) => h.host_id === HOST_ID), {
    what: 'the agent to be accepted with its token',
  });

  const page = await world.newPage();
  await page.goto(`${server.url}/devices`);
  assert.equal(pathname(page), '/login', 'an unauthenticated visit to /devices lands on /login');
  const keyInput = page.locator('input[name=api_key]');
  const submit = page.locator('form:has(input[name=api_key]) :is(button[type=submit], button:not([type]), input[type=submit])').first();
  await keyInput.waitFor({ state: 'visible' });
  assert.equal(await page.locator('[data-testid=host-card]').count(), 0, 'the login page shows no hosts');

  // A wrong key: still on the login page, with an error.
  const bodyBefore = await page.locator('body').innerText();
  await keyInput.fill('not-the-key-0123456789');
  await submit.click();
  const error = await pollUntil(
    async () => {
      const alerts = (await texts(page.locator('[role=alert]'))).filter(Boolean);
      if (alerts.length > 0) return alerts.join(' ');
      const body = await page.locator('body').innerText();
      return body !== bodyBefore && /wrong|invalid|incorrect|not valid|try again/i.test(body) ? body : null;
    },
    { what: 'an error message (role=alert, or text saying wrong/invalid/incorrect) after a wrong key' },
  );
  assert.equal(pathname(page), '/login', 'a wrong key stays on /login');
  await keyInput.waitFor({ state: 'visible' });
  assert.doesNotMatch(error, /not-the-key/, 'the error does not echo the typed key');
  const cookies = await page.context().cookies(server.url);
  assert.ok(!cookies.some((c) => c.name === 'trainyard_session' && c.value), 'no session cookie after a wrong key');

  // The right key: onto the app, session cookie set, live data visible.
  await keyInput.fill(API_KEY);
  await submit.click();
  await pollUntil(() => pathname(page) === '/', { what: 'the redirect to / after login' });
  await waitForHydration(page);
  const session = (await page.context().cookies(server.url)).find((c) => c.name === 'trainyard_session');
  assert.ok(session?.value, 'the session cookie is set');
  assert.ok(session.httpOnly, 'the session cookie is HttpOnly');
  assert.notEqual(session.value, API_KEY, 'the cookie does not hold the key itself');

  await page.click('nav a[href="/devices"]');
  const card = page.locator(`[data-testid=host-card][data-host-id="${HOST_ID}"]`);
  await card.waitFor({ state: 'visible' });
  assert.equal(await card.getAttribute('data-health'), 'healthy');
  const readings = () => texts(card.locator('[data-testid=gpu-util], [data-testid=gpu-mem], [data-testid=gpu-temp], [data-testid=gpu-power]'));
  const before = await readings();
  assert.equal(before.length, 8, `4 metrics x 2 GPUs: ${JSON.stringify(before)}`);
  await pollUntil(async () => JSON.stringify(await readings()) !== JSON.stringify(before), {
    what: 'a GPU reading to change live behind the login',
  });

  // A fresh load with the cookie goes straight to the page.
  await page.goto(`${server.url}/devices`);
  assert.equal(pathname(page), '/devices', 'the session cookie keeps the user logged in');
  await waitForHydration(page);
  await card.waitFor({ state: 'visible' });
});

e2eTest('auth: serving beyond loopback without an API key is refused', async (world) => {
  const dataDir = await world.tempDir();
  const child = world.track(
    new Child(
      'trainyard-0.0.0.0',
      SERVER_BIN,
      ['serve', '--server-only', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir, '--site-root', SITE_ROOT],
      { env: childEnv() },
    ),
  );
  const status = await child.waitForExit(15_000);
  assert.notEqual(status.code, 0, `exits non-zero (${JSON.stringify(status)}):\n${child.output}`);
  assert.equal(status.signal, null, 'exits by itself, not by a signal');
  assert.match(child.output, /--api-key/, 'the message names --api-key');
  assert.match(child.output, /TRAINYARD_API_KEY/, 'the message names TRAINYARD_API_KEY');
});
