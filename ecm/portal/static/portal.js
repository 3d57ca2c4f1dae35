// ecm portal: progressive enhancement only; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // "Select all" checkboxes for bulk decisions.
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll(`input[name="${all.dataset.selectAll}"]`)) {
        box.checked = all.checked;
      }
    });
  }
  // The duty board: replace the alert table when the server says something changed.
  const board = document.querySelector("[data-live-source]");
  if (board && "EventSource" in window) {
    const status = document.getElementById("live-status");
    const source = new EventSource(board.dataset.liveSource);
    source.addEventListener("board", (event) => {
      board.innerHTML = event.data;
      if (status) status.textContent = "Live: updated " + new Date().toLocaleTimeString("en-GB");
    });
    source.onerror = () => { if (status) status.textContent = "Live updates paused; retrying…"; };
  }
  // Ages on the duty board tick every 30 s.
  const tick = () => {
    for (const el of document.querySelectorAll("[data-open-since]")) {
      const minutes = Math.max(0, Math.floor((Date.now() - Date.parse(el.dataset.openSince)) / 60000));
      el.textContent = minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
    }
  };
  tick();
  setInterval(tick, 30000);
});
