// Home: the weekly trend chart (rates come from the page's JSON).
"use strict";
(function () {
  const el = document.getElementById("trend");
  const d = JSON.parse(document.getElementById("trend-data").textContent);
  if (!d.weeks.length) { el.textContent = "No weeks with data yet."; el.classList.remove("chart"); return; }
  const x = d.weeks.map(w => Date.parse(w + "T00:00:00Z") / 1000);
  const plot = new uPlot({
    width: TS.width(el), height: 240, tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    scales: { x: { time: true, range: (u, lo, hi) => [lo - 4 * 86400, hi + 4 * 86400] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } },
    axes: [{}, { label: "twitches per hour", size: 60 }],
    series: [{ label: "week of" , value: (u, v) => v == null ? "-" : new Date(v * 1000).toISOString().slice(0, 10) },
             { label: "rate", stroke: "#2563eb", width: 2, fill: "rgba(37,99,235,0.08)",
               points: { show: true, size: 6 }, spanGaps: false,
               value: (u, v) => v == null ? "no data" : v.toFixed(1) + " /h" }],
  }, [x, d.rates], el);
  TS.fit(plot, el, 240);
})();
