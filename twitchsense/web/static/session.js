// Session: twitches over time (strength by class, context shading, alert raises) and the strength histogram.
"use strict";
(function () {
  const d = JSON.parse(document.getElementById("session-data").textContent);
  const when = t => TS.localTime(d.epoch, d.offset_s, t);
  document.querySelectorAll("td.t").forEach(td => { td.textContent = when(parseFloat(td.dataset.t)); });
  const ev = d.events;
  const el = document.getElementById("events-chart");
  const kinds = [...new Set(ev.map(e => e.kind || ""))].sort();
  const x = ev.map(e => e.onset);
  const span = d.last_t - d.first_t;
  const series = kinds.map(k => ev.map(e => (e.kind || "") === k ? e.peak_g : null));
  const raises = d.alerts.filter(a => a.change === "raised" && !a.fault);
  const hooks = TS.shadeSpans(d.context);
  hooks.draw = [u => {
    const ctx = u.ctx; ctx.save();
    for (const a of raises) {
      const px = u.valToPos(a.time, "x", true);
      ctx.strokeStyle = { info: "#3182bd", warning: "#e6550d", alert: "#a50f15" }[a.level] || "#000";
      ctx.lineWidth = 2; ctx.setLineDash([5, 4]);
      ctx.beginPath(); ctx.moveTo(px, u.bbox.top); ctx.lineTo(px, u.bbox.top + u.bbox.height); ctx.stroke();
    }
    ctx.restore();
  }];
  if (ev.length) {
    const plot = new uPlot({
      width: TS.width(el), height: 280, hooks: hooks,
      scales: { x: { time: false, range: () => [d.first_t, Math.max(d.last_t, d.first_t + 1)] }, y: { distr: 3 } },
      axes: [{ values: (u, vals) => vals.map(v => when(v).slice(11, span < 3600 ? 19 : 16)), label: "local time (" + TS.offsetText(d.offset_s) + ")" },
             { label: "strength (g)", size: 60 }],
      series: [{ label: "time", value: (u, v) => v == null ? "-" : when(v) }].concat(kinds.map(k => ({
        label: k || "unclassified", stroke: TS.COLORS[k] || "#555", fill: TS.COLORS[k] || "#555",
        paths: () => null, points: { show: true, size: 7, fill: TS.COLORS[k] || "#555" },
        value: (u, v) => v == null ? "-" : v.toFixed(3) + " g" }))),
    }, [x].concat(series), el);
    TS.fit(plot, el, 280);
  } else { el.textContent = "No twitches in this session."; el.classList.remove("chart"); }
  // strength histogram
  const edges = [0, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, Infinity];
  const names = ["<0.02", "0.02-0.03", "0.03-0.05", "0.05-0.1", "0.1-0.2", "0.2-0.3", "0.3-0.5", "0.5-1", "≥1"];
  const counts = names.map(() => 0);
  ev.forEach(e => { for (let i = 0; i < names.length; i++) if (e.peak_g >= edges[i] && e.peak_g < edges[i + 1]) counts[i]++; });
  const hel = document.getElementById("hist-chart");
  const hx = names.map((_, i) => i);
  const hplot = new uPlot({
    width: TS.width(hel), height: 200, scales: { x: { time: false, range: [-0.6, names.length - 0.4] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
    axes: [{ values: (u, vals) => vals.map(v => Number.isInteger(v) && names[v] ? names[v] : ""), label: "strength (g)" },
           { label: "twitches", size: 50 }],
    series: [{ label: "band", value: (u, v) => v == null ? "-" : names[v] + " g" },
             { label: "twitches", fill: "rgba(37,99,235,0.6)", stroke: "#2563eb",
               paths: uPlot.paths.bars({ size: [0.8, 80] }), points: { show: false } }],
  }, [hx, counts], hel);
  TS.fit(hplot, hel, 200);
})();
// Side by side: the twitches of two models on the same time axis, one lane each; a twitch the other
// model also has is filled, one it alone has is hollow.
(function () {
  const d = JSON.parse(document.getElementById("session-data").textContent);
  const form = document.getElementById("model-form");
  if (form) form.querySelectorAll("select").forEach(s => s.addEventListener("change", () => form.submit()));
  const side = d.side, el = document.getElementById("side-chart");
  if (!side || !el) return;
  const when = t => TS.localTime(d.epoch, d.offset_s, t);
  const span = d.last_t - d.first_t;
  const lanes = [[side.a, side.matched_a, 1], [side.b, side.matched_b, 0]];
  const x = [...new Set(side.a.events.concat(side.b.events).map(e => e.onset))].sort((p, q) => p - q);
  const at = new Map(x.map((v, i) => [v, i]));
  const series = [], data = [x];
  for (const [lane, matched, y] of lanes) {
    for (const both of [true, false]) {
      const ys = x.map(() => null);
      lane.events.forEach((e, i) => { if (matched[i] === both) ys[at.get(e.onset)] = y; });
      data.push(ys);
      const colour = y ? "#2563eb" : "#d97706";
      series.push({ label: lane.name + (both ? " (both)" : " (only)"), stroke: colour, paths: () => null,
                    points: { show: true, size: 9, width: 2, stroke: colour, fill: both ? colour : "#fff" },
                    value: (u, v) => v == null ? "-" : "twitch" });
    }
  }
  const plot = new uPlot({
    width: TS.width(el), height: 170,
    scales: { x: { time: false, range: () => [d.first_t, Math.max(d.last_t, d.first_t + 1)] }, y: { range: [-0.6, 1.6] } },
    axes: [{ values: (u, vals) => vals.map(v => when(v).slice(11, span < 3600 ? 19 : 16)), label: "local time (" + TS.offsetText(d.offset_s) + ")" },
           { values: (u, vals) => vals.map(v => v === 1 ? "A" : v === 0 ? "B" : ""), size: 40, splits: () => [0, 1] }],
    series: [{ label: "time", value: (u, v) => v == null ? "-" : when(v) }].concat(series),
  }, data, el);
  TS.fit(plot, el, 170);
})();
