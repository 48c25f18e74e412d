// Hands the wasm splitter's loader its chunks out of packs, so a page that
// needs a hundred chunk files makes one request for them instead of a
// hundred (server/src/chunk_pack/mod.rs has the pack's format).
//
// The loader (`__wasm_split.*.js`, written by `cargo leptos build --split`)
// asks for each chunk with `fetch(new URL("./chunk_N.wasm", import.meta.url))`.
// This wraps `fetch` for those URLs only:
// - a chunk named in the page's preloaded pack (`<link data-chunk-pack>`,
//   written by the server in place of one preload per chunk) comes out of
//   that pack;
// - the other chunks asked for in one go (the loader asks for a page's
//   whole tree at once, e.g. on a client-side navigation) are gathered and
//   fetched as one more pack;
// - if a pack cannot be had, each chunk is fetched on its own, as before;
// - a fetch the network drops (offline, the server restarting) is tried
//   again when the browser is back online and after a growing pause: the
//   loader treats a failed chunk as fatal (leptos's lazy routes panic), so
//   a navigation or an idle-time prefetch caught by a network blip waits
//   for the network instead of breaking the page;
// - a chunk answered 404 means the site was upgraded under this tab (its
//   chunks are renamed): the loader is kept waiting, as it cannot recover
//   either, and a notice offers to reload.
//
// The loader compiles a chunk only when a route that needs it is asked for.
// A pack's chunks are all there at once, so they are compiled as soon as it
// arrives, side by side, and `WebAssembly.instantiateStreaming` (wrapped for
// the responses made here only) instantiates the compiled module instead of
// compiling it again. The page's own pack is read and compiled as soon as
// this script runs, before the loader asks for any of it.
(() => {
  const CHUNK_FILE = /\/((?:chunk|split)_[A-Za-z0-9_]+)\.wasm$/;
  const nativeFetch = window.fetch.bind(window);
  /** pack URL → Promise<Map<chunk name, { bytes, compiled: Promise<WebAssembly.Module> }>> */
  const packs = new Map();
  /** chunk URL → { name, url, resolve } waiting for this turn's flush */
  let wanted = null;
  /** a Response made from a pack → Promise<WebAssembly.Module> of its bytes */
  const compiledFor = new WeakMap();

  /** Statuses a proxy answers while the server behind it restarts. */
  const TRANSIENT = new Set([502, 503, 504]);
  const sleepOrOnline = (ms) => new Promise((resolve) => {
    const done = () => { clearTimeout(timer); window.removeEventListener('online', done); resolve(); };
    const timer = setTimeout(done, ms);
    window.addEventListener('online', done);
  });

  /** A promise that never settles: the loader waits, the page stays as it is. */
  function siteReplaced() {
    if (!document.querySelector('[data-testid=upgrade-notice]')) {
      const notice = document.createElement('div');
      notice.className = 'card';
      notice.setAttribute('role', 'alert');
      notice.dataset.testid = 'upgrade-notice';
      notice.style.cssText = 'position:fixed;right:16px;bottom:16px;z-index:1000;max-width:380px';
      notice.append('Trainyard was upgraded while this tab was open; the page you asked for needs the new version. ');
      const reload = document.createElement('button');
      reload.textContent = 'Reload';
      reload.addEventListener('click', () => location.reload());
      notice.append(reload);
      document.body.append(notice);
    }
    return new Promise(() => {});
  }

  /**
   * `fetch(url)` until it is answered: a network error is retried (0.5 s,
   * doubling to 10 s, or as soon as the browser is back online), and so is
   * a gateway's 502/503/504 when `retryStatus`, which also turns a 404
   * into the upgrade notice. Any other answer is returned as is.
   */
  async function fetchPatiently(url, retryStatus) {
    let warned = false;
    for (let pause = 500; ; pause = Math.min(pause * 2, 10000)) {
      try {
        const response = await nativeFetch(url);
        if (retryStatus && response.status === 404) return siteReplaced();
        if (!retryStatus || !TRANSIENT.has(response.status)) return response;
      } catch {
        // A network error: fetch rejects only for those.
      }
      if (!warned) {
        console.warn(`chunk pack: ${url} is out of reach; trying again until it answers`);
        warned = true;
      }
      await sleepOrOnline(navigator.onLine ? pause : 60000);
    }
  }

  function readPack(url, names) {
    let pack = packs.get(url);
    if (pack === undefined) {
      // A refused pack (any HTTP error) falls back to single chunks; a
      // dropped one is fetched again.
      pack = fetchPatiently(url, false).then(async (response) => {
        if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
        const bytes = new Uint8Array(await response.arrayBuffer());
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const count = bytes.length >= 4 ? view.getUint32(0, true) : -1;
        if (count !== names.length) throw new Error(`${url}: ${count} files, expected ${names.length}`);
        let offset = 4 + 4 * count;
        const files = new Map();
        for (let i = 0; i < count; i += 1) {
          const length = view.getUint32(4 + 4 * i, true);
          if (offset + length > bytes.length) throw new Error(`${url}: cut short`);
          const file = bytes.subarray(offset, offset + length);
          const compiled = WebAssembly.compile(file);
          // A chunk that does not compile fails where the loader instantiates it.
          compiled.catch(() => {});
          files.set(names[i], { bytes: file, compiled });
          offset += length;
        }
        return files;
      });
      packs.set(url, pack);
      // A failed pack is not remembered: the next navigation tries again.
      pack.catch(() => packs.delete(url));
    }
    return pack;
  }

  /** The page's own pack, preloaded by its head (`<link data-chunk-pack>`), if any. */
  const ownPack = (() => {
    const link = document.querySelector('link[data-chunk-pack]');
    if (!link) return null;
    const names = new URL(link.href).searchParams.get('files')?.split(',') ?? [];
    return { url: link.href, names, nameSet: new Set(names) };
  })();

  function serve(waiters, url, names) {
    readPack(url, names).then(
      (files) => {
        for (const w of waiters) {
          const file = files.get(w.name);
          if (file === undefined) {
            w.resolve(fetchPatiently(w.url, true));
            continue;
          }
          const response = new Response(file.bytes, { headers: { 'Content-Type': 'application/wasm' } });
          compiledFor.set(response, file.compiled);
          w.resolve(response);
        }
      },
      (error) => {
        console.warn(`chunk pack: ${error.message}; fetching its chunks one by one`);
        for (const w of waiters) w.resolve(fetchPatiently(w.url, true));
      },
    );
  }

  function flush() {
    const waiters = [...wanted.values()];
    wanted = null;
    const inOwnPack = (w) => ownPack !== null && ownPack.nameSet.has(w.name);
    const fromOwnPack = waiters.filter(inOwnPack);
    if (fromOwnPack.length > 0) serve(fromOwnPack, ownPack.url, ownPack.names);
    const rest = waiters.filter((w) => !inOwnPack(w));
    if (rest.length === 1) {
      rest[0].resolve(fetchPatiently(rest[0].url, true));
    } else if (rest.length > 1) {
      // Chunks sit side by side: the pack route is beside them.
      const names = rest.map((w) => w.name);
      const url = new URL(`pack?files=${names.join(',')}`, rest[0].url).href;
      serve(rest, url, names);
    }
  }

  const nativeInstantiateStreaming = WebAssembly.instantiateStreaming.bind(WebAssembly);
  WebAssembly.instantiateStreaming = async function instantiateFromPack(source, imports) {
    const response = await source;
    const compiled = response instanceof Response ? compiledFor.get(response) : undefined;
    if (compiled === undefined) return nativeInstantiateStreaming(response, imports);
    let module;
    try {
      module = await compiled;
    } catch {
      return nativeInstantiateStreaming(response, imports);
    }
    return { module, instance: await WebAssembly.instantiate(module, imports) };
  };

  // The page's own chunks are asked for only once the shell's wasm has been
  // compiled and has hydrated up to the lazy route. Their pack was preloaded
  // long before: read it and compile its chunks now, on the compiler's
  // threads, while the shell's wasm is still compiling and running.
  if (ownPack) readPack(ownPack.url, ownPack.names).catch(() => {});

  window.fetch = function fetchWithChunkPacks(input, init) {
    const url = input instanceof URL ? input : null;
    const match = url && init === undefined && url.origin === location.origin && !url.search
      ? CHUNK_FILE.exec(url.pathname)
      : null;
    if (!match) return nativeFetch(input, init);
    const key = url.href;
    // The loader asks for each chunk once; a second ask in the same turn
    // gets its own request rather than a share of a body read once.
    if (wanted?.has(key)) return fetchPatiently(key, true);
    return new Promise((resolve) => {
      if (wanted === null) {
        wanted = new Map();
        queueMicrotask(flush);
      }
      wanted.set(key, { name: match[1], url: key, resolve });
    });
  };
})();
