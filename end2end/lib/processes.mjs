// The programs under test as child processes: started with logs captured,
// stopped with SIGTERM (SIGKILL after 5 s), and never left behind.
import { spawn } from 'node:child_process';
import { withDeadline } from './wait.mjs';

/** Every child still running; killed if this process exits early. */
const live = new Set();

process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    // The 'exit' handler above kills the children.
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

/**
 * Environment for children: ours without TRAINYARD_* settings (a developer's
 * TRAINYARD_API_KEY must not leak into a test), with uncolored logs.
 */
export function childEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('TRAINYARD_')) env[key] = value;
  }
  return { ...env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG || 'info', ...extra };
}

/** A running child process whose stdout and stderr are kept, interleaved, in memory. */
export class Child {
  constructor(name, command, args, { env = childEnv(), cwd } = {}) {
    this.name = name;
    this.command = command;
    this.args = args;
    this.output = '';
    this.exitStatus = null;
    this.listeners = new Set();
    this.proc = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this.proc);
    const onData = (chunk) => {
      this.output += chunk.toString('utf8');
      for (const listener of this.listeners) listener();
    };
    this.proc.stdout.on('data', onData);
    this.proc.stderr.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.proc.once('error', (error) => {
        live.delete(this.proc);
        this.exitStatus = { code: null, signal: null, error };
        resolve(this.exitStatus);
        for (const listener of this.listeners) listener();
      });
      this.proc.once('close', (code, signal) => {
        live.delete(this.proc);
        this.exitStatus ??= { code, signal };
        resolve(this.exitStatus);
        for (const listener of this.listeners) listener();
      });
    });
  }

  get running() {
    return this.exitStatus === null;
  }

  /** The command line, for messages. */
  describe() {
    return [this.command, ...this.args].join(' ');
  }

  /** The last `lines` lines of output. */
  tail(lines = 40) {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  /**
   * Resolves with the first match of `pattern` in the output; rejects if the
   * process exits first or after `timeout` ms.
   */
  waitForOutput(pattern, timeout) {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        const match = this.output.match(pattern);
        if (match) {
          finish();
          resolve(match);
        } else if (!this.running) {
          finish();
          reject(new Error(`${this.name} exited (${formatStatus(this.exitStatus)}) before printing ${pattern}:\n${this.tail()}`));
        }
      };
      const finish = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name} did not print ${pattern} within ${timeout} ms:\n${this.tail()}`));
      }, timeout);
      this.listeners.add(check);
      check();
    });
  }

  /** Resolves with the exit status; rejects after `timeout` ms. */
  waitForExit(timeout) {
    return withDeadline(this.exited, timeout, `${this.name} to exit`);
  }

  /** SIGTERM, then SIGKILL if still running after `grace` ms. Returns the exit status. */
  async stop(grace = 5_000) {
    if (!this.running) return this.exitStatus;
    this.proc.kill('SIGTERM');
    let timer;
    const killed = new Promise((resolve) => {
      timer = setTimeout(() => {
        if (this.running) {
          this.killedHard = true;
          this.proc.kill('SIGKILL');
        }
        resolve();
      }, grace);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }
}

export function formatStatus(status) {
  if (!status) return 'running';
  if (status.error) return `failed to start: ${status.error.message}`;
  return status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
}
