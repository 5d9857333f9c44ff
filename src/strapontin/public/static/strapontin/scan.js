// Check-in: "Scan the QR code" with the phone's camera, where the browser can read QR codes
// (BarcodeDetector and getUserMedia). Elsewhere the button stays hidden and the form to type
// the code is all there is. A recognised code only opens the check-in page (a GET, which
// changes nothing); validating stays a tap on that page.
"use strict";

async function canScan() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return false;
  }
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code");
  } catch (error) {
    return false;
  }
}

/** The check-in address on this site if `text` is one (the poster's QR code encodes BASE_URL,
 * which may differ from the address the app was opened with), else null. */
function checkinTarget(text, scanner) {
  let url;
  try {
    url = new URL(text);
  } catch (error) {
    return null;
  }
  const origins = [window.location.origin];
  if (scanner.dataset.baseUrl) {
    try {
      origins.push(new URL(scanner.dataset.baseUrl).origin);
    } catch (error) {
      // A malformed BASE_URL: only this origin is recognised.
    }
  }
  if (!origins.includes(url.origin) || url.pathname !== scanner.dataset.validateUrl) return null;
  if (!url.searchParams.get("code")) return null;
  return new URL(url.pathname + url.search, window.location.origin).href;
}

async function setUpScanner(scanner) {
  if (!(await canScan())) return;
  const start = scanner.querySelector(".scanner-start");
  const stop = scanner.querySelector(".scanner-stop");
  const video = scanner.querySelector(".scanner-video");
  const status = scanner.querySelector(".scanner-status");
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  let stream = null;
  let timer = null;

  function stopCamera() {
    if (timer) window.clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }

  async function look() {
    if (!stream) return;
    try {
      const codes = await detector.detect(video);
      for (const code of codes) {
        const target = checkinTarget(code.rawValue, scanner);
        if (target) {
          stopCamera();
          window.location.assign(target);
          return;
        }
        status.textContent = scanner.dataset.wrong;
      }
    } catch (error) {
      // The video has no frame yet: look again.
    }
    timer = window.setTimeout(look, 200);
  }

  start.addEventListener("click", async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } }, audio: false,
      });
    } catch (error) {
      status.textContent = scanner.dataset.unavailable;
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    stop.hidden = false;
    start.hidden = true;
    status.textContent = scanner.dataset.looking;
    await video.play().catch(() => {});
    look();
  });
  stop.addEventListener("click", () => {
    stopCamera();
    status.textContent = "";
    start.focus();
  });
  window.addEventListener("pagehide", stopCamera);
  scanner.hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  const scanner = document.querySelector(".scanner");
  if (scanner) setUpScanner(scanner);
});
