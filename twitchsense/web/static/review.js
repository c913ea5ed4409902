// Review: one candidate at a time, keyboard-driven, no page reload between candidates.
// y twitch · n not a twitch · 1-4 class · s skip · u undo · ←/→ back/next.
"use strict";
(function () {
  const rec = document.getElementById("review-root").dataset.rec;
  const api = what => "/api/review/" + what + "/" + rec.split("/").map(encodeURIComponent).join("/");
  const CLASSES = ["myoclonic", "hypnic", "fasciculation", "tic"];
  let data = null, i = 0, spans = [], mark = null, cand = null;
  const done = [];          // indices decided in this visit, for undo
  const waves = new Map();  // onset -> promise of waveform
  const el = document.getElementById("wave");
  const hooks = TS.shadeSpans(null);
  hooks.drawClear = [u => { TS.shadeSpans(spans).drawClear[0](u); }];
  hooks.draw = [u => {
    if (!cand) return;
    const ctx = u.ctx; ctx.save();
    const x0 = u.valToPos(0, "x", true), x1 = u.valToPos(Math.max(cand.duration, 0.02), "x", true);
    ctx.fillStyle = "rgba(220,38,38,0.12)"; ctx.fillRect(x0, u.bbox.top, Math.max(2, x1 - x0), u.bbox.height);
    if (mark != null) {
      const px = u.valToPos(mark, "x", true);
      ctx.strokeStyle = "#7c3aed"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(px, u.bbox.top); ctx.lineTo(px, u.bbox.top + u.bbox.height); ctx.stroke();
    }
    ctx.restore();
  }];
  const plot = TS.tracePlot(el, 280, { xLabel: "seconds from the candidate", yLabel: "g (minus the median of ±3 s)",
                                       digits: 3, magLabel: "|a|", range: [-3, 3], hooks: hooks });

  function wave(c) {
    if (!waves.has(c.onset)) waves.set(c.onset, fetch(api("wave") + "?t=" + c.onset, { credentials: "same-origin" }).then(r => r.json()));
    return waves.get(c.onset);
  }
  const when = t => data.start_time ? TS.localTime(Date.parse(data.start_time) / 1000, offsetOf(data.start_time), t) : "t = " + TS.streamTime(t);
  function offsetOf(iso) {
    const m = /([+-])(\d\d):?(\d\d)$/.exec(iso);
    return m ? (m[1] === "-" ? -1 : 1) * (parseInt(m[2]) * 3600 + parseInt(m[3]) * 60) : 0;
  }
  function describe(dec) {
    if (!dec) return "not reviewed yet";
    return dec.label === "twitch" ? "twitch" + (dec.kind ? " (" + dec.kind + ")" : "") : "not a twitch";
  }
  function counts() {
    const n = data.candidates.length, k = data.candidates.filter(c => c.decision).length;
    document.getElementById("bar").style.width = (n ? 100 * k / n : 100) + "%";
    document.getElementById("counts").textContent = n
      ? "candidate " + (Math.min(i, n - 1) + 1) + " of " + n + " · " + k + " reviewed · detections from " + data.source
      : "No candidates: nothing detected and no markers.";
    const m = data.markers;
    document.getElementById("markers").textContent = "Your markers (felt): " + m.markers + ", " + m.with_detection
      + " with a detection within " + m.within_s + " s; detections without a marker: " + m.without_marker + " of " + m.detections + ".";
  }
  async function show() {
    counts();
    const box = document.getElementById("candidate");
    if (i >= data.candidates.length) {
      cand = null; box.innerHTML = "<b>All candidates seen.</b> Use ← to go back, or pick another recording.";
      document.body.dataset.state = "finished";
      plot.setData([[], [], [], [], []]);
      return;
    }
    const c = data.candidates[i];
    cand = c;
    mark = c.type === "marker" ? c.marker_t - c.onset : null;
    const what = c.type === "marker"
      ? "Your marker at " + when(c.marker_t) + (c.nearest ? ": nearest detection " + c.nearest.offset_s.toFixed(2) + " s away, " + c.nearest.peak_g.toFixed(3) + " g" : ": no detection within 2 s")
      : "Detection at " + when(c.onset) + " · " + c.peak_g.toFixed(3) + " g · " + Math.round(c.duration * 1000) + " ms · confidence " + c.confidence.toFixed(2) + (c.kind ? " · class " + c.kind : "");
    const ctx = c.context && c.context.state ? " · context " + c.context.state + (c.context.level_g != null ? " (" + c.context.level_g.toFixed(3) + " g)" : "") : "";
    box.innerHTML = "";
    const p = document.createElement("div"); p.textContent = what + ctx;
    const d = document.createElement("div"); d.className = "decision"; d.textContent = "Decision: " + describe(c.decision);
    box.append(p, d);
    document.body.dataset.state = "candidate"; document.body.dataset.index = i;
    const w = await wave(c);
    if (cand !== c) return;
    spans = w.context;
    plot.setData([w.t, w.x, w.y, w.z, w.m]);
    if (i + 1 < data.candidates.length) wave(data.candidates[i + 1]);  // prefetch: the next one shows at once
    document.body.dataset.shown = i;
  }
  async function decide(label, kind) {
    const c = data.candidates[i];
    if (!c) return;
    const body = { onset: c.onset, duration: c.duration, label: label, kind: kind, peak_g: c.peak_g };
    const saved = document.getElementById("saved");
    try {
      await TS.post(api("decide"), body);
      data.candidates.filter(o => Math.abs(o.onset - c.onset) < 1e-3).forEach(o => { o.decision = label ? { label: label, kind: kind } : null; });
      saved.textContent = label ? "Saved: " + describe(c.decision) + " at " + when(c.onset) + "." : "Undone.";
      document.body.dataset.saved = (parseInt(document.body.dataset.saved || "0") + 1);
      return true;
    } catch (e) { saved.textContent = "Not saved: " + e.message; return false; }
  }
  async function key(k) {
    if (!data) return;
    const c = data.candidates[i];
    if (k === "y" && c) { if (await decide("twitch", c.kind && CLASSES.includes(c.kind) ? c.kind : "")) { done.push(i); i++; } }
    else if (k === "n" && c) { if (await decide("not-twitch", "")) { done.push(i); i++; } }
    else if (["1", "2", "3", "4"].includes(k) && c) { if (await decide("twitch", CLASSES[parseInt(k) - 1])) { done.push(i); i++; } }
    else if (k === "s" || k === "ArrowRight") { i = Math.min(i + 1, data.candidates.length); }
    else if (k === "ArrowLeft") { i = Math.max(i - 1, 0); }
    else if (k === "u") { if (done.length) { i = done.pop(); await decide(null, ""); } }
    else return;
    show();
  }
  let queue = Promise.resolve();  // keys in the order pressed, each after the previous one is saved
  const queued = k => { queue = queue.then(() => key(k)); };
  document.addEventListener("keydown", ev => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (["y", "n", "1", "2", "3", "4", "s", "u", "ArrowLeft", "ArrowRight"].includes(k)) { ev.preventDefault(); queued(k); }
  });
  document.getElementById("keys").addEventListener("click", ev => {
    const b = ev.target.closest("button"); if (b) queued(b.dataset.key);
  });
  fetch(api("candidates"), { credentials: "same-origin" }).then(r => r.json()).then(d => {
    if (d.error) { document.getElementById("counts").textContent = d.error; return; }
    data = d;
    i = data.candidates.findIndex(c => !c.decision);
    if (i < 0) i = data.candidates.length;
    show();
  });
})();
