// Chromium via playwright-core, and the page-level conditions tests wait for.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, SCREENSHOT_DIR, TIMEOUT_MS } from './config.mjs';

export const VIEWPORT = { width: 1280, height: 800 };

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

/**
 * A fresh context whose console errors and uncaught page errors are recorded
 * in `errors` (a page that renders but fails to hydrate shows up there).
 */
export async function newContext(browser, errors, options = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'light', ...options });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.on('console', (message) => {
    if (message.type() === 'error') {
      const { url, lineNumber } = message.location();
      errors.push(`console.error on ${message.page()?.url() ?? '?'}: ${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`);
    }
  });
  context.on('weberror', (webError) => {
    const error = webError.error();
    errors.push(`uncaught error on ${webError.page()?.url() ?? '?'}: ${error.stack || error.message}`);
  });
  return context;
}

export const LIVE_CONNECTED = '[data-testid=live-status][data-connected="true"]';

/**
 * Waits until the wasm has hydrated the page and opened the live event
 * stream: only the hydrated app sets data-connected="true".
 */
export async function waitForHydration(page, timeout = TIMEOUT_MS) {
  await page.waitForSelector(LIVE_CONNECTED, { state: 'attached', timeout });
}

/**
 * Marks the current document; `assertSameDocument` then proves no full page
 * load happened in between (client-side navigation, live updates).
 */
export async function markDocument(page) {
  const token = `e2e-${Math.random().toString(36).slice(2)}`;
  await page.evaluate((value) => {
    window.__trainyardE2eDocument = value;
  }, token);
  return token;
}

export async function isSameDocument(page, token) {
  return page.evaluate((value) => window.__trainyardE2eDocument === value, token);
}

/** The trimmed text of every element matching `locator`. */
export function texts(locator) {
  return locator.evaluateAll((elements) => elements.map((e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim()));
}

/** The pathname of the page's URL. */
export function pathname(page) {
  return new URL(page.url()).pathname;
}

/**
 * Saves a full-page screenshot of `page` as SCREENSHOT_DIR/name (the README's
 * pictures), once finite animations have settled (an editor's blinking
 * cursor never does, so infinite ones are not waited for).
 */
export async function screenshot(page, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((a) => a.effect?.getTiming().iterations !== Infinity)
        .map((a) => a.finished.catch(() => {})),
    ),
  );
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, name), fullPage: true, animations: 'disabled' });
}
