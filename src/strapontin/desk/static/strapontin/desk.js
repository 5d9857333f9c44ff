// Back-office helpers. Every page works without JavaScript; this only makes it smoother.
document.addEventListener("DOMContentLoaded", () => {
  // A form that came back refused: bring its message into view and to the screen reader.
  const refused = document.querySelector("[data-focus-on-load]");
  if (refused) {
    refused.focus();
    refused.scrollIntoView({ block: "center" });
  }

  // Poster: a print button (browsers' own Print works too).
  for (const button of document.querySelectorAll("[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }

  // Entrance screen: fetch the page again when its code changes (data-seconds-left says
  // when), and swap the content without a blank flash. If the network fails, keep trying and
  // say the code may be out of date; if the link was revoked (404), show that page.
  const kiosk = document.querySelector("[data-kiosk]");
  if (!kiosk) {
    return;
  }
  const STEP = 60;
  let deadline = 0;
  let timer = null;

  const schedule = () => {
    const left = Math.max(1, Number(kiosk.dataset.secondsLeft) || STEP);
    deadline = Date.now() + left * 1000;
    tick();
  };

  const tick = () => {
    clearTimeout(timer);
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    const counter = kiosk.querySelector("[data-countdown]");
    if (counter) {
      counter.textContent = String(left);
    }
    const bar = kiosk.querySelector("[data-countdown-bar]");
    if (bar) {
      bar.style.width = `${Math.min(100, (left / STEP) * 100)}%`;
    }
    if (left <= 0) {
      refresh();
    } else {
      // Wake just after the next whole second.
      timer = setTimeout(tick, ((deadline - Date.now()) % 1000 || 1000) + 20);
    }
  };

  const offline = (isOffline) => {
    const note = kiosk.querySelector("[data-offline]");
    if (note) {
      note.hidden = !isOffline;
    }
    kiosk.classList.toggle("kiosk-stale", isOffline);
  };

  const refresh = async () => {
    try {
      const response = await fetch(window.location.href, {
        cache: "no-store",
        credentials: "same-origin",
      });
      if (response.status === 404) {
        window.location.reload();
        return;
      }
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.querySelector("[data-kiosk]");
      if (!fresh) {
        throw new Error("no kiosk content");
      }
      kiosk.innerHTML = fresh.innerHTML;
      kiosk.dataset.secondsLeft = fresh.dataset.secondsLeft;
      offline(false);
      schedule();
    } catch {
      offline(true);
      clearTimeout(timer);
      timer = setTimeout(refresh, 5000);
    }
  };

  schedule();
});

// Front desk: the list refreshes itself every 30 s (htmx polling); skip a refresh while the
// agent is in the middle of something in it (a cancel form or a history open, a field focused),
// both before asking and when the answer arrives (the agent may have started meanwhile).
const busy = (live) =>
  Boolean(live.querySelector("details[open]")) || live.contains(document.activeElement);

document.addEventListener("htmx:beforeRequest", (event) => {
  const live = event.detail.elt;
  if (live.matches && live.matches("[data-live]") && busy(live)) {
    event.preventDefault();
  }
});

document.addEventListener("htmx:beforeSwap", (event) => {
  const live = event.detail.elt;
  if (live.matches && live.matches("[data-live]") && busy(live)) {
    event.detail.shouldSwap = false;
  }
});
