// The console's own script: confirmations, select-all, and live progress (polling).
// Pages work without it; it only makes waiting and bulk actions pleasant.
"use strict";

function confirmations() {
  document.querySelectorAll("[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
}

function selectAll() {
  document.querySelectorAll("[data-select-all]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`)
        .forEach((item) => { item.checked = box.checked; });
    });
  });
}

function poll(url, every, onAnswer) {
  const tick = async () => {
    try {
      const answer = await fetch(url, {credentials: "same-origin", cache: "no-store"});
      if (answer.redirected || !answer.ok) { window.location.reload(); return; }
      if (await onAnswer(await answer.json())) return;
    } catch (error) { /* the server restarting: try again */ }
    window.setTimeout(tick, every);
  };
  window.setTimeout(tick, every);
}

function runProgress() {
  const live = document.querySelector("[data-progress]");
  if (!live) return;
  poll(live.dataset.progress, 1000, (progress) => {
    for (const [name, value] of Object.entries(progress.counts)) {
      const cell = live.querySelector(`[data-count="${name}"]`);
      if (cell) cell.textContent = value;
    }
    if (progress.finished) { window.location.reload(); return true; }
    return false;
  });
}

function waitForRun() {
  const waiting = document.querySelector("[data-wait-run]");
  if (!waiting) return;
  poll(waiting.dataset.waitRun, 1000, (answer) => {
    if (answer.run_id) { window.location.assign(waiting.dataset.runBase + answer.run_id); return true; }
    return false;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  confirmations();
  selectAll();
  runProgress();
  waitForRun();
});
