"""Sinks: where events, alerts and link health go (terminal, JSON lines, a command, MQTT, history).

Every sink implements :class:`~twitchsense.stages.Sink`; :class:`SinkBase` gives
no-op methods so a sink overrides only what it acts on. :func:`event_record`
and :func:`alert_record` are the one JSON shape of an event and an alert,
shared by the JSON-lines, MQTT and command sinks.
"""

from __future__ import annotations

from ...io.sessionclock import SessionClock
from ...types import Alert, LinkEvent, SampleBlock, TwitchEvent


class SinkBase:
    """A sink that ignores everything; subclasses override what they act on."""

    def on_samples(self, block: SampleBlock) -> None:
        pass

    def on_events(self, events: list[TwitchEvent]) -> None:
        pass

    def on_alerts(self, alerts: list[Alert]) -> None:
        pass

    def on_link(self, event: LinkEvent) -> None:
        pass

    def close(self) -> None:
        pass


def event_record(e: TwitchEvent, clock: SessionClock | None = None) -> dict:
    """An event as a JSON-ready dict (``time``: local ISO time when the session start is known; ``status``
    ``provisional``, ``confirmed`` or ``retracted``, with its ``reason``; ``id``: a provisional event's
    verdict has its id)."""
    rec = {"type": "event", "onset": round(e.onset, 3), "duration": round(e.duration, 3),
           "peak_g": round(e.peak_g, 4), "confidence": round(e.confidence, 3), "label": e.label,
           "kind": e.kind, "context": e.context, "status": e.status, "id": e.id}
    if e.reason:
        rec["reason"] = e.reason
    if clock is not None and clock.known:
        rec["time"] = clock.iso(e.onset)
    return rec


def alert_record(a: Alert, clock: SessionClock | None = None) -> dict:
    """An alert (or alert change) as a JSON-ready dict."""
    rec = {"type": "alert", "start": round(a.start, 3), "end": round(a.end, 3), "level": a.level,
           "rule": a.rule, "detail": a.detail}
    for name in ("change", "previous", "notify", "guidance", "fault"):
        if hasattr(a, name):
            rec[name] = getattr(a, name)
    if clock is not None and clock.known:
        rec["time"] = clock.iso(a.end)
    return rec


def link_record(ev: LinkEvent, clock: SessionClock | None = None) -> dict:
    """A link event as a JSON-ready dict."""
    rec = {"type": "link", "kind": ev.kind, "detail": ev.detail, "count": ev.count, "t": ev.t}
    if clock is not None and clock.known and ev.t is not None:
        rec["time"] = clock.iso(ev.t)
    return rec


def describe_alert(a: Alert) -> str:
    """One line in words: ``ALERT raised frequent-sustained: 27 twitches ...; rule: frequent-sustained``."""
    change = getattr(a, "change", "")
    what = {"raised": f"{a.level.upper()}", "lowered": f"{a.level} (falling back)",
            "cleared": f"cleared {a.level}"}.get(change, a.level)
    fault = "FAULT " if getattr(a, "fault", False) and change != "cleared" else ""
    return f"{fault}{what}: {a.detail}; rule: {a.rule}"


class SinkError(Exception):
    """A sink's failure, already in words that name the sink (e.g. ``--record out.csv: cannot write ...``).

    The pipeline reports it as it is, where it reports any other exception of a sink with the
    sink's label and the exception's type.
    """
