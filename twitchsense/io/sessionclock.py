"""Stream time to calendar time: a session's ``start_time`` (ISO 8601 with offset) anchors its seconds."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

from ..errors import TwitchsenseError

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def parse_start_time(start_time: str | datetime | None) -> datetime | None:
    """The session's ``start_time`` as an aware datetime (naive values are taken as UTC), or None."""
    if start_time is None or start_time == "":
        return None
    if isinstance(start_time, datetime):
        dt = start_time
    else:
        try:
            dt = datetime.fromisoformat(str(start_time).replace("Z", "+00:00"))
        except ValueError:
            raise TwitchsenseError(f"start_time {start_time!r} is not an ISO 8601 date and time") from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


class SessionClock:
    """Maps stream seconds to absolute time, local wall-clock time and calendar days.

    ``start_time`` anchors stream time 0. A live source often learns it only with
    its first samples: pass its ``meta`` dict instead and the clock reads
    ``meta["start_time"]`` as soon as it appears. Without a start, stream time is
    taken as seconds since 1970-01-01 UTC, so day boundaries fall every 86 400 s
    of stream time and nothing pretends to a date.
    """

    def __init__(self, start_time: str | datetime | None = None, meta: dict | None = None) -> None:
        self.start: datetime | None = None
        self._meta = meta
        self.set_start(start_time)

    def set_start(self, start_time: str | datetime | None) -> None:
        """Anchor the clock (ignored once it is anchored, and for an empty value)."""
        if self.start is None:
            self.start = parse_start_time(start_time)

    def _resolve(self) -> datetime | None:
        if self.start is None and self._meta is not None and self._meta.get("start_time"):
            self.set_start(self._meta["start_time"])
        return self.start

    @property
    def known(self) -> bool:
        return self._resolve() is not None

    @property
    def epoch_offset(self) -> float:
        """Unix time of stream time 0 (0 when the start is unknown)."""
        st = self._resolve()
        return st.timestamp() if st is not None else 0.0

    @property
    def utc_offset_s(self) -> float:
        st = self._resolve()
        return st.utcoffset().total_seconds() if st is not None else 0.0  # type: ignore[union-attr]

    def absolute(self, t: float) -> float:
        """Unix time of stream time ``t``."""
        return self.epoch_offset + t

    def day(self, t: float) -> int:
        """Calendar day ordinal (``date.toordinal``) of stream time ``t`` in the session's offset."""
        return int(math.floor((self.epoch_offset + self.utc_offset_s + t) / 86400.0)) + _EPOCH_ORDINAL

    def day_start(self, day: int) -> float:
        """Stream time at which calendar day ``day`` (an ordinal) begins."""
        return (day - _EPOCH_ORDINAL) * 86400.0 - self.utc_offset_s - self.epoch_offset

    def date(self, t: float) -> str:
        """ISO date of stream time ``t`` (``day N`` counted from 1 when the start is unknown)."""
        d = self.day(t)
        return date.fromordinal(d).isoformat() if self.known else f"day {d - _EPOCH_ORDINAL + 1}"

    def iso(self, t: float) -> str | None:
        """ISO 8601 local time of stream time ``t`` (None when the start is unknown)."""
        st = self._resolve()
        if st is None:
            return None
        return (st + timedelta(seconds=t)).isoformat(timespec="milliseconds")
