// Station portal: progressive enhancements only; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The card choices show only when paying by card.
  for (const form of document.querySelectorAll("form")) {
    const cardFields = form.querySelector("[data-show-when=card]");
    if (!cardFields) continue;
    const update = () => {
      const chosen = form.querySelector("input[name=payment]:checked");
      cardFields.hidden = !chosen || chosen.value !== "card";
    };
    form.addEventListener("change", update);
    update();
  }
  // A form is sent once: a second click while the first is on its way does nothing (the
  // server's idempotency key would make it harmless anyway).
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
    });
  }
  // Pages waiting for a payment confirmation reload themselves.
  const waiting = document.querySelector("[data-refresh-seconds]");
  if (waiting) {
    const seconds = Number(waiting.dataset.refreshSeconds) || 2;
    setTimeout(() => window.location.reload(), seconds * 1000);
  }
});
