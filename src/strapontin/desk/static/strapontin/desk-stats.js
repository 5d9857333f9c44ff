// Statistics charts, drawn from the JSON the page carries (the same numbers as its tables).
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("stats-data");
  if (!source) {
    return;
  }
  const data = JSON.parse(source.textContent);

  // Heat map: shade each cell by its share of the busiest one.
  const cells = document.querySelectorAll("#table-heat td[data-heat]");
  const values = Array.from(cells, (cell) => Number(cell.dataset.heat) || 0);
  const top = Math.max(0, ...values);
  cells.forEach((cell, index) => {
    const level = top ? Math.ceil((values[index] / top) * 4) : 0;
    cell.classList.add(`heat-${level}`);
  });

  if (typeof Chart === "undefined") {
    return;
  }
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const series = data[canvas.dataset.chart];
    if (!series || !series.values.length) {
      canvas.closest("figure").hidden = true;
      continue;
    }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [{ label: series.label, data: series.values, backgroundColor: "#1f5fa8" }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }
});
