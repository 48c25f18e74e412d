// Waiting for conditions with a deadline, never a fixed sleep.
import { setTimeout as delay } from 'node:timers/promises';
import { TIMEOUT_MS } from './config.mjs';

/**
 * Calls `probe` every `interval` ms until it returns a truthy value, and
 * returns that value. Throws after `timeout` ms, naming `what` and the last
 * value or error seen.
 */
export async function pollUntil(probe, { timeout = TIMEOUT_MS, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await probe();
      lastError = undefined;
      if (last) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError ? `last error: ${lastError.message}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (${detail})`);
    }
    await delay(interval);
  }
}

/** Resolves with `promise`, or rejects after `timeout` ms naming `what`. */
export async function withDeadline(promise, timeout, what) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms waiting for ${what}`)), timeout);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
