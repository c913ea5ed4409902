"""MQTT: events and alerts for home-automation systems (paho-mqtt, the optional extra ``mqtt``).

Topics under ``PREFIX/SESSION`` (PREFIX defaults to ``twitchsense``):

| topic | payload | QoS | retained |
|---|---|---|---|
| ``.../events`` | one JSON event per twitch | 1 | no |
| ``.../alerts`` | one JSON alert change | 1 | no |
| ``.../alert/RULE`` | the rule's current state: JSON with ``level`` (``clear`` when none) | 1 | yes |
| ``.../link`` | JSON link events (faults, lost samples...) | 1 | no |
| ``.../status`` | ``online``; ``offline`` on close or as the last will | 1 | yes |

A subscriber that connects later reads each rule's state from the retained topics.
"""

from __future__ import annotations

import json
import re
import time

from ...dependencies import missing_extra
from ...errors import TwitchsenseError
from ...io.sessionclock import SessionClock
from ...types import Alert, LinkEvent, TwitchEvent
from . import SinkBase, alert_record, event_record, link_record


def topic_part(text: str) -> str:
    """A safe topic level: no wildcards, no separators, no spaces."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "default"


def parse_broker(url: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``mqtt://host:port`` -> (host, port)."""
    m = re.fullmatch(r"(?:mqtt://)?(\[[^\]]+\]|[^:/\s]+)(?::(\d+))?/?", url.strip())
    if not m:
        raise TwitchsenseError(f"--mqtt: '{url}' is not HOST, HOST:PORT or mqtt://HOST:PORT")
    return m.group(1).strip("[]"), int(m.group(2) or 1883)


class MqttSink(SinkBase):
    """Publishes to an MQTT broker; connects at once and fails with one clear line if it cannot."""

    def __init__(self, host: str = "localhost", port: int = 1883, prefix: str = "twitchsense",
                 session: str = "default", clock: SessionClock | None = None, qos: int = 1,
                 username: str | None = None, password: str | None = None,
                 keepalive: int = 30, timeout_s: float = 5.0) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise missing_extra("MQTT", "paho-mqtt", "mqtt") from None
        self.clock = clock
        self.qos = qos
        self.timeout_s = timeout_s
        self.base = "/".join(topic_part(p) for p in prefix.strip("/").split("/")) + "/" + topic_part(session)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"twitchsense-{topic_part(session)}"[:64])
        if username:
            self.client.username_pw_set(username, password)
        self.client.will_set(f"{self.base}/status", "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(1, 30)
        self.client.max_queued_messages_set(10_000)  # a long broker outage must not grow memory forever
        try:
            self.client.connect(host, port, keepalive)
        except (OSError, ValueError) as exc:
            raise TwitchsenseError(f"--mqtt: cannot reach the MQTT broker at {host}:{port} ({exc})") from None
        self.client.loop_start()
        self._pending: list = []
        self._publish("status", "online", retain=True)

    def _publish(self, sub: str, payload: dict | str, retain: bool = False) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        info = self.client.publish(f"{self.base}/{sub}", data, qos=self.qos, retain=retain)
        self._pending.append(info)
        if len(self._pending) > 1000:
            self._pending = [i for i in self._pending if not i.is_published()]

    def on_events(self, events: list[TwitchEvent]) -> None:
        for e in events:
            self._publish("events", event_record(e, self.clock))

    def on_alerts(self, alerts: list[Alert]) -> None:
        for a in alerts:
            rec = alert_record(a, self.clock)
            self._publish("alerts", rec)
            state = dict(rec, type="state")
            if rec.get("change") == "cleared":
                state["level"] = "clear"
            self._publish(f"alert/{topic_part(a.rule)}", state, retain=True)

    def on_link(self, event: LinkEvent) -> None:
        if event.kind != "status":
            self._publish("link", link_record(event, self.clock))

    def close(self) -> None:
        self._publish("status", "offline", retain=True)
        deadline = time.monotonic() + self.timeout_s
        for info in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                info.wait_for_publish(timeout=left)
            except (RuntimeError, ValueError):
                break  # not connected: the broker sets the retained last will instead
        self.client.disconnect()
        self.client.loop_stop()
