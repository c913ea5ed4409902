// Shared helpers of the twitchsense pages: times with their UTC offset, POST with the CSRF token, chart sizing.
"use strict";
const TS = {
  offsetText(offsetS) {
    const sign = offsetS < 0 ? "-" : "+", a = Math.abs(Math.round(offsetS / 60));
    return sign + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
  },
  // local time of the session (not of the browser) with its UTC offset: "2026-03-01 14:05:09 +01:00"
  localTime(epoch, offsetS, t, withDate = true) {
    const d = new Date((epoch + t + offsetS) * 1000).toISOString();
    return (withDate ? d.slice(0, 10) + " " : "") + d.slice(11, 19) + " " + TS.offsetText(offsetS);
  },
  streamTime(t) {
    const s = Math.max(0, t), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return String(h).padStart(2, "0") + ":" + String(m).padStart(2, "0") + ":" + (s % 60).toFixed(1).padStart(4, "0");
  },
  csrf() { return document.querySelector('meta[name="csrf-token"]').content; },
  async post(url, body) {
    const r = await fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": TS.csrf() }, body: JSON.stringify(body || {}) });
    let data = null;
    try { data = await r.json(); } catch (e) { data = { error: r.statusText }; }
    if (!r.ok) throw new Error(data.error || r.statusText);
    return data;
  },
  width(el) { return Math.max(260, el.clientWidth || el.parentElement.clientWidth); },
  // keep a uPlot chart as wide as its box
  fit(plot, el, height) {
    const resize = () => plot.setSize({ width: TS.width(el), height: height });
    window.addEventListener("resize", resize);
    return resize;
  },
  COLORS: { x: "#d62728", y: "#2ca02c", z: "#1f77b4", m: "#111111",
            myoclonic: "#d62728", hypnic: "#9467bd", fasciculation: "#2ca02c", tic: "#ff7f0e", "": "#555" },
  CONTEXT: { rest: "rgba(14,165,233,0.10)", light: "rgba(234,179,8,0.16)", active: "rgba(107,114,128,0.22)" },
  // a chart of the three axes and the magnitude against seconds, empty until setData
  tracePlot(el, height, opts) {
    const plot = new uPlot({
      width: TS.width(el), height: height, hooks: opts.hooks || {}, scales: { x: { time: false, range: opts.range } },
      axes: [{ label: opts.xLabel }, { label: opts.yLabel, size: 60 }],
      series: [{ label: "t", value: (u, v) => v == null ? "-" : v.toFixed(opts.digits) + " s" },
               { label: "x", stroke: TS.COLORS.x, width: 1 }, { label: "y", stroke: TS.COLORS.y, width: 1 },
               { label: "z", stroke: TS.COLORS.z, width: 1 }, { label: opts.magLabel, stroke: TS.COLORS.m, width: 1.5 }],
    }, [[], [], [], [], []], el);
    TS.fit(plot, el, height);
    return plot;
  },
  // a uPlot hook that shades context spans [{start, end, state}] given in x units
  shadeSpans(spans) {
    return { drawClear: [u => {
      if (!spans) return;
      const ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
      ctx.save();
      for (const s of spans) {
        const x0 = u.valToPos(s.start, "x", true), x1 = u.valToPos(s.end, "x", true);
        if (x1 < u.bbox.left || x0 > u.bbox.left + u.bbox.width) continue;
        ctx.fillStyle = TS.CONTEXT[s.state] || "rgba(0,0,0,0)";
        ctx.fillRect(Math.max(x0, u.bbox.left), top, Math.min(x1, u.bbox.left + u.bbox.width) - Math.max(x0, u.bbox.left), h);
      }
      ctx.restore();
    }] };
  },
};
