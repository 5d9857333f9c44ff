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
