// One end-to-end test's world: a temp data dir, server and agent processes, a
// browser with a fresh context; torn down afterwards whatever happened.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ARTIFACTS_DIR } from './config.mjs';
import { launchBrowser, newContext } from './browser.mjs';
import { formatStatus } from './processes.mjs';
import { Server, checkBuild, startAgent } from './trainyard.mjs';

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
}

export class E2E {
  constructor(name) {
    this.name = name;
    this.artifacts = path.join(ARTIFACTS_DIR, slug(name));
    this.children = [];
    this.tempDirs = [];
    /** Console errors and uncaught exceptions from every page of the context. */
    this.browserErrors = [];
    this.browser = undefined;
    this.context = undefined;
    this.cleanedUp = false;
  }

  async tempDir(prefix = 'trainyard-e2e-') {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    this.tempDirs.push(dir);
    return dir;
  }

  /** A fresh server (see `Server.start` for the options). */
  async startServer(options = {}) {
    const dataDir = await this.tempDir();
    const server = await Server.start({ dataDir, ...options });
    this.children.push(server.child);
    return server;
  }

  /** A fresh `trainyard-agent`; stop it with `await agent.stop()`. */
  async startAgent(server, options = {}) {
    const workDir = await this.tempDir('trainyard-e2e-work-');
    const agent = startAgent(server, { workDir, ...options });
    this.children.push(agent);
    return agent;
  }

  /** Any other program, tracked for cleanup (a `Child`). */
  track(child) {
    this.children.push(child);
    return child;
  }

  /** A page in this test's browser context. */
  async newPage() {
    this.browser ??= await launchBrowser();
    this.context ??= await newContext(this.browser, this.browserErrors);
    return this.context.newPage();
  }

  /**
   * Removes the browser errors a test provoked on purpose (those `expected`
   * accepts) from the list `assertNoBrowserErrors` checks, and returns them.
   */
  allowBrowserErrors(expected) {
    const allowed = this.browserErrors.filter(expected);
    const others = this.browserErrors.filter((e) => !expected(e));
    this.browserErrors.splice(0, this.browserErrors.length, ...others);
    return allowed;
  }

  assertNoBrowserErrors() {
    assert.deepEqual(this.browserErrors, [], 'the browser reported errors (see the list above)');
  }

  /** Saves a screenshot of every open page for the failure report. */
  async captureFailure() {
    if (!this.context) return;
    await mkdir(this.artifacts, { recursive: true });
    let n = 0;
    for (const page of this.context.pages()) {
      n += 1;
      try {
        await page.screenshot({ path: path.join(this.artifacts, `failure-page${n}.png`), fullPage: true, timeout: 5_000 });
        await writeFile(path.join(this.artifacts, `failure-page${n}.html`), await page.content());
      } catch {
        // The page may be gone; the logs still help.
      }
    }
  }

  /** Closes the browser, stops every process, removes temp dirs, writes logs. */
  async cleanup() {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    if (this.browser) await this.browser.close().catch(() => {});
    // Agents first, so the server does not log their disappearance as an error.
    const ordered = [...this.children].reverse();
    for (const child of ordered) await child.stop();
    await mkdir(this.artifacts, { recursive: true });
    for (const [i, child] of this.children.entries()) {
      const header = `$ ${child.describe()}\n# ${formatStatus(child.exitStatus)}${child.killedHard ? ' (needed SIGKILL)' : ''}\n`;
      await writeFile(path.join(this.artifacts, `${i + 1}-${slug(child.name)}.log`), header + child.output);
    }
    if (this.browserErrors.length > 0) {
      await writeFile(path.join(this.artifacts, 'browser-errors.txt'), this.browserErrors.join('\n') + '\n');
    }
    for (const dir of this.tempDirs) await rm(dir, { recursive: true, force: true });
  }

  /** What to print when the test failed. */
  report() {
    const parts = [];
    if (this.browserErrors.length > 0) parts.push(`browser errors:\n  ${this.browserErrors.join('\n  ')}`);
    for (const child of this.children) {
      parts.push(`--- ${child.name} (${formatStatus(child.exitStatus)}), last lines:\n${child.tail(25)}`);
    }
    parts.push(`artifacts: ${this.artifacts}`);
    return parts.join('\n');
  }
}

/**
 * Declares a test that gets a fresh `E2E` world. The test fails if the
 * browser logged any console error or uncaught exception, and always ends
 * with every process stopped and temp dir removed.
 */
export function e2eTest(name, body, { timeout = 120_000 } = {}) {
  test(name, { timeout }, async (t) => {
    await checkBuild();
    const world = new E2E(name);
    // Artifacts describe the latest run only.
    await rm(world.artifacts, { recursive: true, force: true });
    // A safety net for a test that times out; a no-op after the cleanups below.
    t.after(() => world.cleanup());
    try {
      await body(world, t);
      world.assertNoBrowserErrors();
    } catch (err) {
      await world.captureFailure();
      await world.cleanup();
      console.error(`\n[e2e] ${name} failed; details:\n${world.report()}\n`);
      throw err;
    }
    await world.cleanup();
  });
}
