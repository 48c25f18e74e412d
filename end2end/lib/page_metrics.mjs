// What the browser measured about a page load: when the wasm finished
// hydrating (the app's `trainyard:hydrated` Performance mark) and how many
// bytes of wasm it transferred, from the Resource Timing entries.
import { TIMEOUT_MS } from './config.mjs';

/** The Performance mark the app sets once hydrated (frontend/src/lib.rs). */
export const HYDRATED_MARK = 'trainyard:hydrated';

/**
 * Waits until the page is hydrated and returns the mark's time, in ms since
 * the navigation started.
 *
 * The wait is a promise inside the page, not `page.waitForFunction`: that
 * polls through Playwright's injected script (~330 KB of JS), and its first
 * use evaluates the script on the page's main thread, ~30 ms that landed in
 * the middle of a lazy page's hydration and were counted as the page's.
 */
export async function hydratedAt(page, timeout = TIMEOUT_MS) {
  return page.evaluate(
    ([mark, waitMs]) =>
      new Promise((resolve, reject) => {
        const markTime = () => performance.getEntriesByName(mark, 'mark')[0]?.startTime;
        if (markTime() !== undefined) {
          resolve(markTime());
          return;
        }
        const observer = new PerformanceObserver(() => {
          if (markTime() === undefined) return;
          observer.disconnect();
          resolve(markTime());
        });
        observer.observe({ type: 'mark' });
        setTimeout(() => {
          observer.disconnect();
          reject(new Error(`the page set no ${mark} mark within ${waitMs} ms`));
        }, waitMs);
      }),
    [HYDRATED_MARK, timeout],
  );
}

/**
 * Every wasm file (or pack of chunks) the page fetched: its path, the bytes
 * on the wire (body as encoded: brotli from the release build's precompressed
 * files and the server's packs, when the browser accepts it), the decoded
 * size, and whether it had arrived before hydration finished (the critical
 * path) or was fetched later (prefetching, a visited page's chunk).
 */
export async function wasmTransfers(page) {
  return page.evaluate((mark) => {
    const hydrated = performance.getEntriesByName(mark, 'mark')[0]?.startTime ?? Infinity;
    // A preloaded file shows up twice (the <link rel=preload> and the fetch
    // that used it): one row per path, the earliest arrival, the sizes once.
    const byPath = new Map();
    for (const entry of performance.getEntriesByType('resource')) {
      const url = new URL(entry.name);
      // A chunk pack (server/src/chunk_pack) is wasm too, one row per pack.
      const isPack = url.pathname.endsWith('/pack') && url.searchParams.has('files');
      if (!url.pathname.endsWith('.wasm') && !isPack) continue;
      const key = url.pathname + (isPack ? url.search : '');
      const path = isPack ? `${url.pathname} (${url.searchParams.get('files').split(',').length} chunks)` : url.pathname;
      const seen = byPath.get(key);
      byPath.set(key, {
        path,
        encodedBytes: Math.max(seen?.encodedBytes ?? 0, entry.encodedBodySize),
        decodedBytes: Math.max(seen?.decodedBytes ?? 0, entry.decodedBodySize),
        beforeHydration: (seen?.beforeHydration ?? false) || entry.responseEnd <= hydrated,
      });
    }
    return [...byPath.values()];
  }, HYDRATED_MARK);
}

/** Sum of `encodedBytes` over transfers matching `keep`. */
export function totalEncoded(transfers, keep = () => true) {
  return transfers.filter(keep).reduce((sum, t) => sum + t.encodedBytes, 0);
}
