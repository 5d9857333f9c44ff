// Strapontin's service worker, served at /sw.js (scope: the whole site).
// - Precaches the CSS, the JavaScript, the icons and the offline page.
// - "Mes réservations": network first; the last successful page is kept, so that the
//   installed app still shows the last known reservations without network.
// - Never caches anything else: no POST, no e-mail token page (/r/), no staff page, no API.
"use strict";

const VERSION = "__STRAPONTIN_VERSION__";
const PRECACHE = `strapontin-precache-${VERSION}`;
const PAGES = "strapontin-pages";
const PRECACHE_URLS = ["__STRAPONTIN_PRECACHE__"];
const OFFLINE_URL = PRECACHE_URLS[0];
const MY_RESERVATIONS = "/mes-reservations/";
const NEVER = ["/r/", "/desk/", "/kiosk/", "/admin/", "/api/", "/i18n/", "/demo/"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(PRECACHE)
      .then((cache) => cache.addAll(PRECACHE_URLS.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith("strapontin-precache-") && key !== PRECACHE)
          .map((key) => caches.delete(key)),
      ))
      .then(() => self.clients.claim()),
  );
});

// The cached copy says so: the page shows "offline — last updated at …" when it finds this.
const SERVED_FROM_NETWORK = 'data-served-from="network"';
const SERVED_FROM_CACHE = 'data-served-from="cache"';

async function keepMyReservations(response) {
  const html = (await response.text()).replace(SERVED_FROM_NETWORK, SERVED_FROM_CACHE);
  const headers = new Headers(response.headers);
  headers.delete("Set-Cookie");
  const cache = await caches.open(PAGES);
  await cache.put(MY_RESERVATIONS, new Response(html, { status: 200, headers }));
}

async function myReservations(request) {
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected && response.type === "basic") {
      await keepMyReservations(response.clone());
    }
    return response;
  } catch (error) {
    const cached = await caches.match(MY_RESERVATIONS, { cacheName: PAGES, ignoreSearch: true, ignoreVary: true });
    return cached || (await caches.match(OFFLINE_URL, { ignoreVary: true })) || Response.error();
  }
}

async function otherPage(request) {
  try {
    return await fetch(request);
  } catch (error) {
    return (await caches.match(OFFLINE_URL, { ignoreVary: true })) || Response.error();
  }
}

async function precached(request) {
  return (await caches.match(request, { cacheName: PRECACHE, ignoreVary: true })) || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (NEVER.some((prefix) => url.pathname.startsWith(prefix))) return;
  if (request.mode === "navigate") {
    event.respondWith(url.pathname === MY_RESERVATIONS ? myReservations(request) : otherPage(request));
  } else if (PRECACHE_URLS.includes(url.pathname)) {
    event.respondWith(precached(request));
  }
});
