// Live: a server-sent event stream of the pipeline: trace, twitches (provisional, confirmed, retracted),
// alert states, link health; the "felt one" button posts a marker.
"use strict";
(function () {
  const KEEP_S = 30;
  const el = document.getElementById("trace");
  const cols = { t: [], x: [], y: [], z: [], m: [] };
  let status = null, dirty = false;
  const plot = TS.tracePlot(el, 260, { xLabel: "stream time (s)", yLabel: "acceleration (g)", digits: 2,
                                       magLabel: "|a| − 1 g" });

  function addTrace(tr) {
    for (const k of ["t", "x", "y", "z", "m"]) Array.prototype.push.apply(cols[k], tr[k]);
    window.__tracePoints = (window.__tracePoints || 0) + tr.t.length;  // read by benchmarks/web_app.py
    window.__traceLast = tr.t[tr.t.length - 1];
    const end = cols.t[cols.t.length - 1];
    let i = 0;
    while (i < cols.t.length && cols.t[i] < end - KEEP_S) i++;
    if (i > 0) for (const k in cols) cols[k].splice(0, i);
    dirty = true;
  }
  function redraw() {
    if (dirty) { plot.setData([cols.t, cols.x, cols.y, cols.z, cols.m]); dirty = false; }
    requestAnimationFrame(redraw);
  }
  requestAnimationFrame(redraw);

  const when = t => (status && status.start_epoch != null)
    ? TS.localTime(status.start_epoch, status.utc_offset_s, t) : "t = " + TS.streamTime(t);
  const list = document.getElementById("events");
  const items = new Map();
  function eventKey(e) { return e.id != null && e.id >= 0 ? "id:" + e.id : "t:" + e.onset.toFixed(3); }
  function showEvent(e) {
    const key = eventKey(e);
    let li = items.get(key);
    if (!li) {
      li = document.createElement("li");
      li.dataset.onset = e.onset; li.dataset.seenWall = Date.now() / 1000;
      items.set(key, li); list.prepend(li);
      while (list.children.length > 100) { const old = list.lastChild; items.delete(old.dataset.key); old.remove(); }
      li.dataset.key = key;
    }
    li.className = "event " + e.status;
    li.dataset.status = e.status;
    const label = { provisional: "possible", confirmed: "confirmed", retracted: "retracted: " + e.reason }[e.status] || e.status;
    li.innerHTML = "";
    const st = document.createElement("span"); st.className = "st " + e.status; st.textContent = label;
    li.append(st, " " + when(e.onset) + " · " + e.peak_g.toFixed(3) + " g · " + Math.round(e.duration * 1000) + " ms"
      + (e.kind ? " · " + e.kind : "") + (e.context ? " · " + e.context : ""));
  }
  function showMarker(m) {
    const li = document.createElement("li"); li.className = "marker";
    const st = document.createElement("span"); st.className = "st marker"; st.textContent = "felt";
    li.append(st, " " + when(m.t) + " (" + m.source + ")");
    list.prepend(li);
  }
  function showStatus(s) {
    status = s;
    if (s.first) { document.body.dataset.firstT = s.first[0]; document.body.dataset.firstWall = s.first[1]; }
    const box = document.getElementById("status");
    const ago = s.last_sample_ago_s;
    const stale = ago == null || ago > 3;
    box.className = "status" + (stale && !s.closed ? " stale" : "");
    box.textContent = (s.closed ? "stream ended · " : "") + (s.now == null ? "waiting for data" : when(s.now))
      + " · " + (s.rate_hz == null ? "-" : s.rate_hz.toFixed(0)) + " samples/s · " + s.twitches + (s.twitches === 1 ? " twitch" : " twitches");
    document.getElementById("rate").textContent = s.rate ? s.rate.text : "";
    const probs = Object.entries(s.problems).map(([k, v]) => k.replace("_", " ") + " " + v).join(", ") || "none";
    document.getElementById("link").textContent = (ago == null ? "no samples yet" : "last sample " + ago.toFixed(1) + " s ago")
      + " · link problems: " + probs;
    const ul = document.getElementById("alerts"); ul.innerHTML = "";
    if (!s.active.length) { const li = document.createElement("li"); li.className = "muted"; li.textContent = "nothing raised"; ul.append(li); }
    for (const a of s.active) {
      const li = document.createElement("li"), lv = document.createElement("span");
      lv.className = "lvl " + a.level; lv.textContent = a.level.toUpperCase();
      li.append(lv, " " + a.rule + ": " + a.detail + (a.guidance ? " — " + a.guidance : ""));
      ul.append(li);
    }
    document.getElementById("felt").disabled = !s.markers;
  }
  const src = new EventSource("/live/stream");
  src.onmessage = msg => {
    for (const m of JSON.parse(msg.data)) {
      if (m.type === "trace") addTrace(m);
      else if (m.type === "event") showEvent(m);
      else if (m.type === "marker") showMarker(m);
      else if (m.type === "status") showStatus(m);
    }
  };
  src.onerror = () => { document.getElementById("status").textContent = "connection lost: retrying…"; };
  document.getElementById("felt").addEventListener("click", async () => {
    const info = document.getElementById("mark-info");
    try {
      const r = await TS.post("/live/mark", {});
      info.textContent = "Marker recorded at " + when(r.t) + ".";
    } catch (e) { info.textContent = "Not recorded: " + e.message; }
  });
})();
