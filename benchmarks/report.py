"""Turn a benchmark results dict into ``results.md`` and PNG plots (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path


def _cell(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value).replace("|", "/").replace("\n", " ")


def markdown_table(columns: list[tuple[str, str]], rows: list[dict]) -> str:
    """A GitHub markdown table of ``rows`` (dicts) under the ``columns`` (key, header) pairs."""
    if not columns:
        return ""
    lines = ["| " + " | ".join(h for _, h in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(k)) for k, _ in columns) + " |")
    return "\n".join(lines)


def machine_lines(doc: dict) -> list[str]:
    m = doc["machine"]
    libs = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    return [f"- date: {m['date_utc']}; mode: {doc['mode']}; whole run {doc['elapsed_s']:g} s",
            f"- machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}; "
            f"load average at start {m['load_avg_1min']} (the machine is shared: compare ratios, not absolute times)",
            f"- Python {m['python']}; {libs}; commit {m['commit']}",
            f"- reproduce: `pip install '.[bench]' && {doc['command']}`"] + [
            f"- re-run since: {', '.join(r['sections'])} on {r['date_utc']} (commit {r['commit']}, load average "
            f"{r['load_avg_1min']} at the start)" for r in doc.get("reruns", [])]


def sections_markdown(doc: dict, plots: dict[str, str], level: int = 2) -> str:
    """Every section of a results dict: a heading of ``level``, its table, note and plot."""
    out = []
    for name, sec in doc["sections"].items():
        out += [f"{'#' * level} {sec['title']}", "", markdown_table(sec["columns"], sec["rows"]), ""]
        if sec.get("note"):
            out += [sec["note"], ""]
        if name in plots:
            out += [f"![{sec['title']}]({plots[name]})", ""]
    return "\n".join(out).rstrip() + "\n"


def render(doc: dict, plots: dict[str, str]) -> str:
    """The markdown page for a results dict; ``plots`` maps section name to a relative PNG path."""
    return "\n".join(["# twitchsense benchmarks", "", *machine_lines(doc), "", sections_markdown(doc, plots)])


# --------------------------------------------------------------------------- plots
def _plot_scaling(sec: dict, ax) -> bool:
    curves = sec.get("curves") or {}
    if not curves:
        return False
    for stage, pts in curves.items():
        h = [p[0] for p in pts]
        s = [p[1] for p in pts]
        exponent = sec["scaling"].get(stage)
        ax.plot(h, s, "o-", label=stage if exponent is None else f"{stage} (exponent {exponent})")
        ax.plot(h, [s[-1] * x / h[-1] for x in h], ":", color="grey", lw=0.8)
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(h)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("recording length (h, 100 Hz)")
    ax.set_ylabel("wall time (s)")
    ax.set_title("Throughput scaling (dotted: linear)")
    ax.legend(fontsize=8)
    return True


def _plot_peers(sec: dict, fig) -> bool:
    rows = [r for r in sec["rows"] if r.get("status") == "ok" and r.get("ms_per_window")]
    if not rows:
        return False
    names = [r["method"].split(" (")[0] for r in rows]
    ax1, ax2 = fig.subplots(1, 2)
    ax1.barh(names, [r["ms_per_window"] for r in rows], color="tab:blue")
    ax1.set_xscale("log")
    ax1.set_xlabel("ms per window (log)")
    ax1.invert_yaxis()
    ax2.barh(names, [r.get("f1") or 0 for r in rows], color="tab:green")
    ax2.set_xlim(0, 1)
    ax2.set_xlabel("window F1")
    ax2.invert_yaxis()
    ax2.set_yticklabels([])
    fig.suptitle("Feature extraction vs peers, same windows")
    return True


def _plot_live_memory(sec: dict, ax) -> bool:
    samples = sec.get("samples") or []
    if not samples:
        return False
    ax.plot([s[0] for s in samples], [s[1] for s in samples])
    ax.set_ylim(0, 1.2 * max(s[1] for s in samples))
    ax.set_xlabel("replayed hours")
    ax.set_ylabel("RSS (MB)")
    ax.set_title("Live pipeline memory over a long replay")
    return True


def _plot_quality(sec: dict, fig) -> bool:
    rows = [r for r in sec["rows"] if r.get("status", "ok") == "ok"]
    if not rows:
        return False
    data = list(dict.fromkeys(r["data"].split(" (")[0] for r in rows))
    detectors = list(dict.fromkeys(r["detector"] for r in rows))
    ax1, ax2 = fig.subplots(1, 2)
    height = 0.8 / len(detectors)
    for k, det in enumerate(detectors):
        by = {r["data"].split(" (")[0]: r for r in rows if r["detector"] == det}
        ys = [i + k * height for i in range(len(data))]
        ax1.barh(ys, [(by.get(d) or {}).get("f1") or 0 for d in data], height, label=det)
        ax2.barh(ys, [max((by.get(d) or {}).get("fa_per_h_rest") or 0, 0.1) for d in data], height, label=det)
    centres = [i + 0.4 - height / 2 for i in range(len(data))]
    ax1.set_yticks(centres, [d.replace(" + ", "\n+ ") for d in data], fontsize=8)
    ax1.set_xlim(0, 1)
    ax1.set_xlabel("event F1")
    ax1.invert_yaxis()
    ax1.legend(fontsize=8)
    ax2.set_yticks(centres, [])
    ax2.set_xscale("log")
    ax2.set_xlabel("false alarms per hour at rest (log)")
    ax2.invert_yaxis()
    fig.suptitle("Detection quality on held-out data")
    return True


def write_plots(doc: dict, folder: Path) -> dict[str, str]:
    """One PNG per figure that has data; returns {section: path relative to the report}."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for name, sec in doc["sections"].items():
        fig = plt.figure(figsize=(8, 4))
        if name == "peers":
            ok = _plot_peers(sec, fig)
        elif name == "quality":
            ok = _plot_quality(sec, fig)
        else:
            drawer = {"throughput": _plot_scaling, "live_memory": _plot_live_memory}.get(name)
            ok = drawer(sec, fig.add_subplot()) if drawer else False
        if ok:
            fig.tight_layout()
            fig.savefig(folder / f"{name}.png", dpi=100)
            made[name] = f"plots/{name}.png"
        plt.close(fig)
    return made


def write_report(doc: dict, out: Path) -> None:
    """``out`` (markdown) and its plots in ``out.parent / 'plots'``."""
    plots = write_plots(doc, out.parent / "plots")
    out.write_text(render(doc, plots))
