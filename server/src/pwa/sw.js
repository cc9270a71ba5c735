// MeetMind's service worker, generated per build: VERSION changes whenever
// the hashed wasm/js/css change, so a deploy installs a new worker with a new
// cache and never serves stale wasm. API calls and SSE are never cached.
const VERSION = "__VERSION__";
const CACHE = "meetmind-" + VERSION;
const PRECACHE = __PRECACHE__;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("meetmind-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || (request.headers.get("accept") || "").includes("text/event-stream")) return;
  if (request.mode === "navigate") {
    // Pages are always fresh; the offline page stands in when the network is gone.
    event.respondWith(fetch(request).catch(() => caches.match("/offline")));
    return;
  }
  if (PRECACHE.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  // The pages' lazily loaded wasm chunks: cached on first use. Their names
  // carry a content hash, and a new build (the loader's hash is part of
  // VERSION) gets a new cache.
  if (url.pathname.startsWith("/pkg/")) {
    event.respondWith(
      caches.open(CACHE).then((cache) =>
        cache.match(request).then(
          (hit) =>
            hit ||
            fetch(request).then((response) => {
              // Whole responses only; the worker stays alive until stored.
              if (response.status === 200) event.waitUntil(cache.put(request, response.clone()).catch(() => {}));
              return response;
            })
        )
      )
    );
  }
});
