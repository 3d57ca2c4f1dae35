// ecm portal: progressive enhancement only; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A message left by the last act: move focus to it so screen readers say it.
  const flash = document.querySelector(".flash");
  if (flash) { flash.setAttribute("tabindex", "-1"); flash.focus(); }

  // "Select all" checkboxes for bulk decisions.
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll(`input[name="${all.dataset.selectAll}"]:not(:disabled)`)) {
        box.checked = all.checked;
      }
    });
  }

  // The duty board: the server sends the whole table when it changes. While someone is
  // using a form on the board the update waits (nothing typed is lost), and the live
  // region says how many alerts are open and whether an update is waiting.
  const board = document.querySelector("[data-live-source]");
  if (board && "EventSource" in window) {
    const status = document.getElementById("live-status");
    let pending = null, pendingCount = null;
    const busy = () => board.contains(document.activeElement) || board.querySelector("details[open]");
    const say = (text) => { if (status) status.textContent = text; };
    const apply = () => {
      if (pending === null || busy()) return;
      board.innerHTML = pending;
      say(`${pendingCount} open alert${pendingCount === "1" ? "" : "s"}; updated ${new Date().toLocaleTimeString("en-GB")}`);
      pending = null;
    };
    const source = new EventSource(board.dataset.liveSource);
    source.addEventListener("board", (event) => {
      pending = event.data;
      pendingCount = event.lastEventId;
      if (busy()) say(`The board has changed (${pendingCount} open); it updates when you close the open form.`);
      apply();
    });
    source.addEventListener("signed_out", () => { source.close(); window.location.reload(); });
    board.addEventListener("focusout", () => setTimeout(apply, 0));
    board.addEventListener("toggle", () => setTimeout(apply, 0), true);
    source.onerror = () => say("Live updates paused; retrying…");
  }

  // Ages on the duty board tick every 30 s.
  const tick = () => {
    for (const el of document.querySelectorAll("[data-open-since]")) {
      const minutes = Math.max(0, Math.floor((Date.now() - Date.parse(el.dataset.openSince)) / 60000));
      el.textContent = minutes < 60 ? `${minutes} min`
        : minutes < 2880 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min`
        : `${Math.floor(minutes / 1440)} days ${Math.floor(minutes % 1440 / 60)} h`;
    }
  };
  tick();
  setInterval(tick, 30000);
});
