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

The client id is unique per run (two ``stream`` runs of one session on one broker
would otherwise throw each other off). Connecting waits for the broker's answer, at
most ``timeout_s``. After that the client reconnects by itself whenever the link
drops (paho's reconnect, with a growing delay); on every reconnect it says ``online``
again and republishes the retained states (a restarted broker may have lost them,
and a dropped link left the last will ``offline``). Messages published while the
broker is away wait in paho's queue (at most 10 000).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
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
        self.label = f"--mqtt {host}:{port}"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"twitchsense-{topic_part(session)[:40]}-{secrets.token_hex(4)}")
        if username:
            self.client.username_pw_set(username, password)
        self.client.will_set(f"{self.base}/status", "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(1, 30)
        self.client.max_queued_messages_set(10_000)  # a long broker outage must not grow memory forever
        self.client.connect_timeout = timeout_s
        #: the retained topics' current payloads, republished on every (re)connect
        self._retained: dict[str, str] = {"status": "online"}
        self._lock = threading.Condition()
        self._unacked: set[int] = set()  # message ids the broker has not confirmed yet
        self._early: set[int] = set()    # confirmed before publish() returned their id
        answered = threading.Event()
        refused: list[str] = []

        def on_connect(client, userdata, flags, reason, properties) -> None:
            if reason.is_failure:
                refused.append(str(reason))
            else:
                with self._lock:
                    retained = list(self._retained.items())
                for sub, payload in retained:
                    self._publish(sub, payload, retain=True)
            answered.set()

        self.client.on_connect = on_connect
        self.client.on_publish = self._on_publish
        where = f"{host}:{port}"
        try:
            self.client.connect(host, port, keepalive)
        except (OSError, ValueError) as exc:
            raise TwitchsenseError(f"--mqtt: cannot reach the MQTT broker at {where} ({exc})") from None
        self.client.loop_start()
        if not answered.wait(timeout_s) or refused:
            self.client.loop_stop()
            self.client.disconnect()
            why = f"refused the connection ({refused[0]})" if refused else \
                f"did not answer within {timeout_s:g} s"
            raise TwitchsenseError(f"--mqtt: the broker at {where} {why}")

    def _on_publish(self, client, userdata, mid, reason, properties) -> None:
        with self._lock:
            if mid in self._unacked:
                self._unacked.discard(mid)
            else:
                self._early.add(mid)
            self._lock.notify_all()

    def _publish(self, sub: str, payload: dict | str, retain: bool = False) -> None:
        import paho.mqtt.client as mqtt

        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        if retain:
            with self._lock:
                self._retained[sub] = data
        # never under our lock: paho calls on_publish holding its own
        info = self.client.publish(f"{self.base}/{sub}", data, qos=self.qos, retain=retain)
        if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):  # sent, or queued until reconnected
            with self._lock:
                if info.mid in self._early:
                    self._early.discard(info.mid)
                else:
                    self._unacked.add(info.mid)

    def wait_published(self, timeout_s: float) -> bool:
        """Wait until the broker has confirmed every message so far (True), at most ``timeout_s``."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._unacked, timeout_s)

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
        self.wait_published(self.timeout_s)  # else the broker sets the retained last will instead
        self.client.disconnect()
        self.client.loop_stop()
