"""Device-clock to host-clock mapping: offset and drift from (stream time, host arrival time) pairs."""

from __future__ import annotations


class ClockEstimate:
    """Least-squares line ``host_s = offset_s + (1 + drift_ppm * 1e-6) * t``.

    ``t`` is the stream time (seconds of the device clock on the decoder's time base),
    ``host_s`` the host ``time.monotonic_ns()`` of arrival in seconds. Arrival lags
    the device by transmission and batching latency; the fit's offset includes the
    mean latency. Points come from PONG replies and from SAMPLES frame arrivals.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every point (after a reboot the device clock restarts)."""
        self.n_points = 0
        self._x0 = self._y0 = 0.0
        self._sx = self._sy = self._sxx = self._sxy = 0.0

    def add(self, t: float, host_ns: int) -> None:
        """One pair: stream time ``t`` (s) was seen on the host at ``host_ns``."""
        y = host_ns * 1e-9
        if self.n_points == 0:
            self._x0, self._y0 = float(t), y
        x, y = float(t) - self._x0, y - self._y0
        self.n_points += 1
        self._sx += x
        self._sy += y
        self._sxx += x * x
        self._sxy += x * y

    @property
    def slope(self) -> float:
        n = self.n_points
        if n < 2:
            return 1.0
        var = self._sxx - self._sx * self._sx / n
        if var <= 1e-12 * max(1.0, self._sxx):
            return 1.0
        return (self._sxy - self._sx * self._sy / n) / var

    @property
    def drift_ppm(self) -> float:
        """How much faster the host clock runs than the device clock, in parts per million."""
        return (self.slope - 1.0) * 1e6

    @property
    def offset_s(self) -> float:
        """Host time (s) at stream time 0; ``nan`` before the first point."""
        n = self.n_points
        if n == 0:
            return float("nan")
        b = self.slope
        a = (self._sy - b * self._sx) / n  # in centred coordinates
        return self._y0 + a - b * self._x0

    def to_host_ns(self, t: float) -> int:
        """Host ``monotonic_ns`` estimated for stream time ``t``."""
        return int(round((self.offset_s + self.slope * t) * 1e9))

    def __repr__(self) -> str:
        return f"ClockEstimate(points={self.n_points}, offset_s={self.offset_s:.6f}, drift_ppm={self.drift_ppm:.1f})"
