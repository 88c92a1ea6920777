// easel's console: draws the usage charts of a cluster's overview with uPlot, from the
// console's own usage.json; closes a question on Cancel and shows a refused write's answer.
// Everything else is plain HTML and htmx.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-usage]")) {
    drawCharts(el);
  }
});

async function drawCharts(el) {
  let data;
  try {
    const res = await fetch(el.dataset.usage, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!res.ok) {
      throw new Error("the hub answered " + res.status);
    }
    data = await res.json();
  } catch (err) {
    el.textContent = "The usage could not be read: " + err.message;
    el.dataset.drawn = "error";
    return;
  }
  el.replaceChildren();
  if (data.time.length === 0) {
    el.textContent = "No usage recorded in this range yet.";
    el.dataset.drawn = "empty";
    return;
  }
  const width = Math.max(320, Math.min(el.clientWidth || 640, 640));
  for (const chart of data.charts) {
    const figure = document.createElement("figure");
    figure.setAttribute("aria-label", chart.title + " usage, " + chart.unit);
    el.append(figure);
    new uPlot({
      title: chart.title + " (" + chart.unit + ")",
      width: width,
      height: 220,
      series: [
        {},
        { label: "used", stroke: "#2454c5", width: 2 },
        { label: "requested", stroke: "#9a6200", dash: [6, 4] },
        { label: "total", stroke: "#8a94a6" },
      ],
      scales: { x: { time: true, range: () => [data.from, data.to] }, y: { range: (u, min, max) => [0, Math.max(max, 0.001)] } },
      axes: [{}, { size: 60 }],
    }, [data.time, chart.used, chart.requested, chart.total], figure);
  }
  el.dataset.drawn = "true";
}

// Nodes page: Cancel on a question (data-dismiss names what to close) closes it where it stands;
// without JavaScript it is a link back to the page.
document.addEventListener("click", (e) => {
  const dismiss = e.target.closest("[data-dismiss]");
  if (dismiss) {
    e.preventDefault();
    dismiss.closest(dismiss.dataset.dismiss)?.remove();
  }
});

// A refused write answered with a fragment to show in its place (the console sets HX-Retarget on
// it) is swapped in, so the refusal is read where the form was; htmx shows no 4xx answer
// otherwise.
document.addEventListener("htmx:beforeSwap", (e) => {
  if (e.detail.xhr.status >= 400 && e.detail.xhr.getResponseHeader("HX-Retarget")) {
    e.detail.shouldSwap = true;
    e.detail.isError = false;
  }
});
