// Starting `trainyard serve` and `trainyard-agent` for a test.
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import {
  AGENT_BIN,
  DISCONNECTED_AFTER_S,
  HEARTBEAT_INTERVAL_S,
  SERVER_BIN,
  SITE_ROOT,
  STALE_AFTER_S,
  TIMEOUT_MS,
} from './config.mjs';
import { Child } from './processes.mjs';
import { pollUntil } from './wait.mjs';

/** Throws a helpful error unless the release binaries and web assets exist. */
export async function checkBuild() {
  const missing = [];
  for (const file of [SERVER_BIN, AGENT_BIN]) {
    try {
      await access(file, constants.X_OK);
    } catch {
      missing.push(file);
    }
  }
  for (const file of ['trainyard.js', 'trainyard.wasm', 'trainyard.css']) {
    const asset = path.join(SITE_ROOT, 'pkg', file);
    try {
      await access(asset, constants.R_OK);
    } catch {
      missing.push(asset);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `missing build outputs:\n  ${missing.join('\n  ')}\n` +
        'Build them first:\n' +
        '  PATH="$PWD/node_modules/.bin:$PATH" cargo leptos build --release --split\n' +
        '  cargo build --release -p trainyard-agent\n' +
        '(or point TRAINYARD_BIN_DIR / TRAINYARD_SITE_ROOT at existing ones)',
    );
  }
}

/** Headers for the REST API. */
export function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** `trainyard serve` on a free loopback port. */
export class Server {
  /**
   * @param {object} options
   * @param {string} options.dataDir fresh data directory
   * @param {string} [options.apiKey] started with --api-key when given
   * @param {boolean} [options.serverOnly=true] no in-process agent
   * @param {string} [options.siteRoot] the web assets (default: the build's)
   * @param {number} [options.staleAfter] seconds (default: the suite's short one)
   * @param {number} [options.disconnectedAfter] seconds
   * @param {number} [options.port] default: any free one
   * @param {string[]} [options.extraArgs]
   */
  static async start({
    dataDir,
    port = 0,
    apiKey,
    serverOnly = true,
    siteRoot = SITE_ROOT,
    staleAfter = STALE_AFTER_S,
    disconnectedAfter = DISCONNECTED_AFTER_S,
    extraArgs = [],
  }) {
    const args = [
      'serve',
      '--port', String(port),
      '--data-dir', dataDir,
      '--site-root', siteRoot,
      '--stale-after', String(staleAfter),
      '--disconnected-after', String(disconnectedAfter),
    ];
    if (serverOnly) args.push('--server-only');
    if (apiKey) args.push('--api-key', apiKey);
    args.push(...extraArgs);
    const child = new Child('trainyard', SERVER_BIN, args);
    const server = new Server(child, apiKey);
    server.dataDir = dataDir;
    try {
      const match = await child.waitForOutput(/listening on http:\/\/127\.0\.0\.1:(\d+)/, TIMEOUT_MS);
      server.url = `http://127.0.0.1:${match[1]}`;
      await pollUntil(
        async () => (await fetch(`${server.url}/api/v1/health`, { headers: authHeaders(apiKey) })).status === 200,
        { what: `${server.url}/api/v1/health to answer 200` },
      );
    } catch (err) {
      await child.stop();
      throw err;
    }
    return server;
  }

  constructor(child, apiKey) {
    this.child = child;
    this.apiKey = apiKey;
    this.url = undefined;
    this.dataDir = undefined;
  }

  /** GET/POST/... a REST path with the API key, returning the Response. */
  api(pathname, { token = this.apiKey, ...init } = {}) {
    return fetch(`${this.url}${pathname}`, { ...init, headers: { ...authHeaders(token), ...init.headers } });
  }

  /** `GET /api/v1/jobs` (query string optional), parsed. */
  async jobs(query = '') {
    const response = await this.api(`/api/v1/jobs${query}`);
    if (response.status !== 200) throw new Error(`GET /api/v1/jobs${query}: ${response.status} ${await response.text()}`);
    return response.json();
  }

  /** Every host, following `GET /api/v1/hosts` page by page (`query`: filters, e.g. `health=healthy`). */
  async hosts(query = '') {
    const hosts = [];
    let after = null;
    do {
      const params = new URLSearchParams(query);
      params.set('limit', '1000');
      if (after !== null) params.set('after', after);
      const response = await this.api(`/api/v1/hosts?${params}`);
      if (response.status !== 200) throw new Error(`GET /api/v1/hosts?${params}: ${response.status} ${await response.text()}`);
      const page = await response.json();
      hosts.push(...page.hosts);
      after = page.next_after;
    } while (after !== null);
    return hosts;
  }
}

/**
 * `trainyard-agent` with fake GPUs and a fast heartbeat, reporting to `server`.
 * Jobs run in `cwd` (the agent's working directory) unless they set `workdir`.
 */
export function startAgent(
  server,
  { hostId = 'gpu-e2e', fakeGpus = 2, token = server.apiKey, workDir, cwd, heartbeatInterval = HEARTBEAT_INTERVAL_S } = {},
) {
  const args = [
    '--url', server.url,
    '--host-id', hostId,
    '--fake-gpus', String(fakeGpus),
    '--heartbeat-interval', String(heartbeatInterval),
  ];
  if (token) args.push('--token', token);
  if (workDir) args.push('--work-dir', workDir);
  return new Child(`trainyard-agent-${hostId}`, AGENT_BIN, args, { cwd });
}
