// Training run page: poll the run, draw the loss curve and the held-out comparison as SVG.
(function () {
  const root = document.getElementById("run");
  if (!root) return;
  const NS = "http://www.w3.org/2000/svg";
  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function lossPlot(svg, log, finished) {
    svg.replaceChildren();
    if (!log.length) {
      // Engines without a loss curve (the OCR engine's learned extractor) say so once done.
      if (finished) svg.append(el("text", { x: 10, y: 30, "font-size": 13, id: "no-loss" }, "This engine's training reports no loss curve."));
      return;
    }
    const W = +svg.getAttribute("width"), H = +svg.getAttribute("height"), P = 36;
    const losses = log.map((p) => p.loss), max = Math.max(...losses), min = Math.min(...losses);
    const sx = (i) => P + (W - 2 * P) * (log.length > 1 ? i / (log.length - 1) : 0);
    const sy = (v) => H - P - (H - 2 * P) * (max > min ? (v - min) / (max - min) : 0.5);
    svg.append(el("line", { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: "#999" }));
    svg.append(el("line", { x1: P, y1: P, x2: P, y2: H - P, stroke: "#999" }));
    svg.append(el("text", { x: 2, y: P, "font-size": 11 }, max.toFixed(3)));
    svg.append(el("text", { x: 2, y: H - P, "font-size": 11 }, min.toFixed(3)));
    svg.append(el("text", { x: W - P - 40, y: H - 8, "font-size": 11 }, `step ${log[log.length - 1].step}`));
    svg.append(el("polyline", { fill: "none", stroke: "#26a", "stroke-width": 2,
      points: log.map((p, i) => `${sx(i)},${sy(p.loss)}`).join(" ") }));
  }
  // Rows: fuzzy mean per field for current and candidate, then (versions trained since exact
  // match was measured) the share of fields exactly right.
  const NOT_FIELDS = ["receipts", "mean", "exact", "exact_mean", "version_id"];
  function evalTable(table, metrics) {
    const fields = Object.keys(metrics.candidate).filter((k) => !NOT_FIELDS.includes(k));
    const current = `current${metrics.current.version_id ? " (v" + metrics.current.version_id + ")" : " (base)"}`;
    const rows = [["", ...fields, "mean"]];
    rows.push([current, ...fields.map((f) => metrics.current[f]), metrics.current.mean]);
    rows.push(["candidate", ...fields.map((f) => metrics.candidate[f]), metrics.candidate.mean]);
    for (const [who, name] of [["current", current], ["candidate", "candidate"]]) {
      const m = metrics[who];
      if (m.exact) rows.push([`${name}: exact %`, ...fields.map((f) => m.exact[f]), m.exact_mean]);
    }
    table.replaceChildren(...rows.map((r, i) => {
      const tr = document.createElement("tr");
      r.forEach((c) => { const td = document.createElement(i ? "td" : "th"); td.textContent = c; tr.append(td); });
      return tr;
    }));
    return fields;
  }
  function evalPlot(svg, metrics, fields) {
    svg.replaceChildren();
    const W = +svg.getAttribute("width"), H = +svg.getAttribute("height"), P = 30;
    const groups = [...fields, "mean"], gw = (W - 2 * P) / groups.length, bw = gw / 3;
    groups.forEach((f, i) => {
      [["current", "#999"], ["candidate", "#26a"]].forEach(([who, color], j) => {
        const v = +metrics[who][f] || 0, h = (H - 2 * P) * v / 100;
        svg.append(el("rect", { x: P + i * gw + j * bw + bw / 2, y: H - P - h, width: bw, height: h, fill: color }));
      });
      svg.append(el("text", { x: P + i * gw + bw / 2, y: H - 10, "font-size": 11 }, f));
    });
    svg.append(el("text", { x: W - 190, y: 14, "font-size": 11, fill: "#999" }, "■ current"));
    svg.append(el("text", { x: W - 110, y: 14, "font-size": 11, fill: "#26a" }, "■ candidate"));
  }
  async function tick() {
    const res = await fetch(root.dataset.api);
    if (!res.ok) return;
    const run = await res.json();
    document.getElementById("run-status").textContent = run.status;
    document.getElementById("run-status").className = `status-${run.status}`;
    document.getElementById("run-progress").value = run.progress;
    document.getElementById("run-error").textContent = run.error || "";
    lossPlot(document.getElementById("loss-plot"), run.loss_log || [], run.status === "done");
    if (run.metrics && run.metrics.candidate) {
      const fields = evalTable(document.getElementById("eval-table"), run.metrics);
      evalPlot(document.getElementById("eval-plot"), run.metrics, fields);
    }
    if (run.status === "queued" || run.status === "running") setTimeout(tick, 1000);
    else if (!document.getElementById("candidate") && run.status === "done") location.reload();
  }
  tick();
})();
