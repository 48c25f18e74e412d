// Where the harness finds the programs under test, and its timeouts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (end2end/lib/ is two levels below it). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function fromEnv(name, fallback) {
  const value = process.env[name];
  return value && value.trim() !== '' ? path.resolve(value) : fallback;
}

const targetDir = fromEnv('CARGO_TARGET_DIR', path.join(REPO_ROOT, 'target'));

/** Folder holding the release `trainyard` and `trainyard-agent` binaries. */
export const BIN_DIR = fromEnv('TRAINYARD_BIN_DIR', path.join(targetDir, 'release'));
/** cargo-leptos output: pkg/trainyard.{js,wasm,css} and the public assets. */
export const SITE_ROOT = fromEnv('TRAINYARD_SITE_ROOT', path.join(targetDir, 'site'));
/** Where screenshots for the docs are written. */
export const SCREENSHOT_DIR = fromEnv('TRAINYARD_SCREENSHOT_DIR', path.join(REPO_ROOT, 'docs', 'screenshots'));
/** Logs and failure screenshots of each test (git-ignored). */
export const ARTIFACTS_DIR = fromEnv('TRAINYARD_E2E_ARTIFACTS', path.join(REPO_ROOT, 'end2end', 'artifacts'));
/** The browser: Debian's chromium, driven by playwright-core. */
export const CHROMIUM = process.env.TRAINYARD_E2E_CHROMIUM || '/usr/bin/chromium';

export const SERVER_BIN = path.join(BIN_DIR, 'trainyard');
export const AGENT_BIN = path.join(BIN_DIR, 'trainyard-agent');

/** Default limit for one awaited condition. */
export const TIMEOUT_MS = Number(process.env.TRAINYARD_E2E_TIMEOUT_MS || 20_000);

/** Thresholds the server is started with: short, to keep the suite quick. */
export const STALE_AFTER_S = 2;
export const DISCONNECTED_AFTER_S = 4;
export const HEARTBEAT_INTERVAL_S = 0.5;
