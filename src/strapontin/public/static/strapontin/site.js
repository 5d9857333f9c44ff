// Progressive enhancement only: every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Filters apply as soon as they change.
  const filters = document.querySelector("form.filters");
  if (filters) {
    filters.addEventListener("change", (event) => {
      if (event.target.matches("select, input[type=checkbox], input[type=date]")) {
        filters.requestSubmit();
      }
    });
  }
  // Tell which slot is selected next to the "Réserver" button.
  const grid = document.querySelector("form.grid");
  if (grid) {
    const bar = grid.querySelector(".book-bar");
    const status = document.createElement("p");
    status.className = "selection";
    status.setAttribute("aria-live", "polite");
    bar.prepend(status);
    grid.addEventListener("change", (event) => {
      if (event.target.name === "slot") {
        status.textContent = event.target.getAttribute("aria-label");
      }
    });
  }
});

// The installable app: the service worker keeps "Mes réservations" for offline use.
const serviceWorkerUrl = document.currentScript && document.currentScript.dataset.serviceWorker;
if (serviceWorkerUrl && "serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register(serviceWorkerUrl, { scope: "/" }).catch(() => {
      // Without a worker the site works as before, online only.
    });
  });
}

// Shown from the service worker's cache (no network): say so, and when the page was current.
document.addEventListener("DOMContentLoaded", () => {
  const status = document.querySelector('.offline-status[data-served-from="cache"]');
  if (!status) return;
  const banner = status.querySelector(".offline-banner");
  const time = banner.querySelector("time");
  const updated = new Date(time.getAttribute("datetime"));
  if (!Number.isNaN(updated.getTime())) {
    // The device's own clock and time zone: "updated at" is about this phone's last visit.
    time.textContent = updated.toLocaleString(document.documentElement.lang || undefined, {
      dateStyle: "medium", timeStyle: "short",
    });
  }
  banner.hidden = false;
  // Cancelling or leaving needs the server: no button that cannot work.
  document.querySelectorAll("main form button").forEach((button) => { button.disabled = true; });
});
