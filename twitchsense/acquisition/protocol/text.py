"""Decoder for boards that print text lines (Arduino Nano 33 IMU examples, ESP32/MPU6050 sketches, micro:bit).

Nothing is guessed: the separator, the columns, the unit and the time base are
options (or a named preset). Lines before the first data line are header lines
and are skipped; a line that does not parse later on is dropped and reported.
Text has no checksum, so a corrupted digit can change a value: only the
project's own protocol guarantees that no altered sample gets through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ...errors import TwitchsenseError
from ...types import LinkEvent, SampleBlock
from ...units import ACC_UNITS, TIME_UNITS
from .base import AnnouncingDecoder, BoardInfo, DecodeResult

SEPARATORS = {",": ",", "comma": ",", "\t": "\t", "tab": "\t", ";": ";", "semicolon": ";",
              " ": None, "space": None, "whitespace": None, "numbers": "numbers"}
MAX_LINE = 4096
HEADER_LINES_WARNING = 20  # header lines before a decoder warns that its options may not fit the lines

_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_KEY_VALUE = re.compile(rb"([A-Za-z_][\w ]*?)\s*[:=]\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")

MPU6050_LOWPASS_WARNING = ("many ESP32/MPU6050 sketches set a 21 Hz on-chip low-pass (MPU6050_BAND_21_HZ) that "
                           "removes most twitch content: use a bandwidth of 94 Hz or more")


class TextOptionsError(TwitchsenseError, ValueError):
    """The options of a text decoder are incomplete or contradictory (the CLI prints one line)."""


@dataclass(frozen=True)
class TextPreset:
    """Options for a known sketch; any of them can be overridden."""

    separator: str
    units: str
    rate_hz: float | None
    columns: tuple[int, int, int] = (0, 1, 2)
    keys: tuple[str, str, str] | None = None
    line_filter: str | None = None
    board: BoardInfo = BoardInfo()
    warning: str | None = None


PRESETS = {
    # Arduino_LSM9DS1 / Arduino_LSM6DS3 SimpleAccelerometer: "x\ty\tz" in g after a few header lines
    "nano33-ble": TextPreset("\t", "g", 119.0, board=BoardInfo(sensor="LSM9DS1", range_g=4.0, sample_rate_hz=119.0,
                                                                name="Arduino Nano 33 BLE")),
    "nano33-ble-rev2": TextPreset("\t", "g", 100.0, board=BoardInfo(sensor="BMI270", range_g=4.0,
                                                                     sample_rate_hz=100.0,
                                                                     name="Arduino Nano 33 BLE Rev2")),
    "nano33-iot": TextPreset("\t", "g", 104.0, board=BoardInfo(sensor="LSM6DS3", range_g=4.0, sample_rate_hz=104.0,
                                                                name="Arduino Nano 33 IoT")),
    # Adafruit_MPU6050 basic_readings: "Acceleration X: 0.12, Y: -0.34, Z: 9.81 m/s^2" (untimed: declare the rate)
    "esp32-mpu6050": TextPreset("numbers", "m/s2", None, line_filter="Acceleration",
                                board=BoardInfo(sensor="MPU6050", name="ESP32 + MPU6050"),
                                warning=MPU6050_LOWPASS_WARNING),
    # MakeCode serial.writeValue("x", input.acceleration(Dimension.X)): "x:-12" lines, milli-g
    "microbit-makecode": TextPreset("numbers", "mg", None, keys=("x", "y", "z"),
                                    board=BoardInfo(sensor="LSM303AGR", range_g=2.0, name="BBC micro:bit")),
    # MicroPython print(accelerometer.get_values()): "(-12, 40, -1020)", milli-g
    "microbit-micropython": TextPreset("numbers", "mg", None,
                                       board=BoardInfo(sensor="LSM303AGR", range_g=2.0, name="BBC micro:bit")),
}


class TextLineDecoder(AnnouncingDecoder):
    """Incremental decoder of accelerometer text lines.

    separator : ``","``, ``"\\t"``, ``";"``, ``"whitespace"`` (runs of spaces/tabs), or
        ``"numbers"`` (every number in the line, in order, whatever text surrounds it).
    columns : the positions (0-based, among fields or numbers) of x, y and z.
    keys : instead of positions, ``key:value`` tokens (micro:bit MakeCode); a sample is
        complete once all three keys were seen, whether on one line or on three.
    units : a unit of :data:`twitchsense.units.ACC_UNITS` (``"g"``, ``"mg"``, ``"m/s2"``...).
    rate_hz : the declared sample rate: sample k is at ``t = k / rate_hz``.
    time_column, time_unit : instead of a rate, a column holding the device time
        (a unit of :data:`twitchsense.units.TIME_UNITS`: ``"s"``, ``"ms"``...); ``t`` is re-zeroed at
        the first sample.
    line_filter : only lines containing this text are data (others ignored silently).
    skip_lines : lines to drop at the start before looking for data.
    """

    def __init__(self, *, separator: str = ",", columns: tuple[int, int, int] = (0, 1, 2),
                 keys: tuple[str, str, str] | None = None, units: str = "g", rate_hz: float | None = None,
                 time_column: int | None = None, time_unit: str = "s", line_filter: str | None = None,
                 skip_lines: int = 0, board: BoardInfo | None = None, warning: str | None = None) -> None:
        if separator not in SEPARATORS:
            raise TextOptionsError(f"separator must be one of {sorted(SEPARATORS)}, got {separator!r}")
        if units not in ACC_UNITS:
            raise TextOptionsError(f"units must be one of {sorted(ACC_UNITS)}, got {units!r}")
        if time_unit not in TIME_UNITS:
            raise TextOptionsError(f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}")
        if (rate_hz is None) == (time_column is None):
            raise TextOptionsError("a text board needs exactly one time base: its sample rate (the lines are "
                                   "untimed) or a time column")
        if rate_hz is not None and not rate_hz > 0:
            raise TextOptionsError(f"rate_hz must be positive, got {rate_hz}")
        if keys is not None and (len(keys) != 3 or time_column is not None):
            raise TextOptionsError("keys must name exactly three axes, and cannot be combined with a time column")
        if len(columns) != 3 or min(columns) < 0:
            raise TextOptionsError(f"columns must be three non-negative positions, got {columns}")
        self.separator = SEPARATORS[separator]
        self.columns = tuple(int(c) for c in columns)
        self.keys = tuple(k.lower() for k in keys) if keys else None
        self.units = units
        self.rate_hz = rate_hz
        self.time_column = time_column
        self.time_unit = time_unit
        self.line_filter = line_filter.encode() if line_filter else None
        self.skip_lines = skip_lines
        self.warning = warning
        rate = rate_hz or 0.0
        self.info = BoardInfo(protocol_version=0, sensor=(board or BoardInfo()).sensor,
                              range_g=(board or BoardInfo()).range_g, sample_rate_hz=rate,
                              name=(board or BoardInfo()).name or "text-line board")
        self._scale = ACC_UNITS[units]
        self._time_scale = TIME_UNITS[time_unit]
        self._need = max(self.columns + ((time_column,) if time_column is not None else ()))
        self.stats = {"bytes": 0, "lines": 0, "samples": 0, "header_lines": 0, "ignored_lines": 0,
                      "bad_lines": 0, "resyncs": 0}
        self._count = 0           # samples emitted (the index of the next one)
        self._last_t: float | None = None
        self._step = 0.01         # last time step seen (bridges a reset in time-column mode)
        self.reset()
        self._joined = False      # a new decoder reads a stream from its beginning

    @classmethod
    def preset(cls, name: str, **overrides) -> "TextLineDecoder":
        """A decoder for a known sketch (see :data:`PRESETS`), e.g. ``preset("nano33-ble")``."""
        if name not in PRESETS:
            raise TextOptionsError(f"unknown text preset {name!r}; known: {', '.join(sorted(PRESETS))}")
        p = PRESETS[name]
        opts = dict(separator=p.separator, units=p.units, rate_hz=p.rate_hz, columns=p.columns, keys=p.keys,
                    line_filter=p.line_filter, board=p.board, warning=p.warning)
        opts.update(overrides)
        if "time_column" in overrides and "rate_hz" not in overrides:
            opts["rate_hz"] = None
        return cls(**opts)

    def reset(self) -> None:
        """Forget the partial line and the axis values of a half-seen keyed sample (the time line stays).

        What comes next joins the stream anywhere (a port opened on a board that streams, bytes
        dropped): up to the first line end it may be the tail of a line (``1\t0.0000\t0.8192`` of
        ``-0.4041\t0.0000\t0.8192``), which would parse as a wrong sample, so it is dropped
        (counted in ``stats["resyncs"]``).
        """
        self._joined = True
        self._pending = b""
        self._overlong = False
        self._in_header = True
        self._skip = self.skip_lines
        self._partial: dict[str, float] = {}
        self._t0: float | None = None
        self._raw_prev = 0.0

    # -- feeding ----------------------------------------------------------------------------
    def announcement(self) -> list[LinkEvent]:
        """The board and units, and the preset's warning if it has one."""
        info = [LinkEvent("info", f"{self.info.name}: text lines in {self.units}")]
        return info + ([LinkEvent("warning", self.warning)] if self.warning else [])

    def feed(self, data: bytes, host_ns: int = -1) -> DecodeResult:
        """Consume ``data``; complete lines become samples, header lines are skipped, bad lines reported."""
        result = self._begin_feed(data)
        buf = self._pending + bytes(data)
        lines = buf.split(b"\n")
        self._pending = lines.pop()
        if self._joined and lines:
            self._joined = False
            if lines.pop(0).strip():
                self.stats["resyncs"] += 1
        rows: list[tuple[float, float, float, float | None]] = []
        for line in lines:
            if self._overlong:  # the rest of a line that was too long
                self._overlong = False
                continue
            self._line(line.rstrip(b"\r"), rows, result)
        if len(self._pending) > MAX_LINE:
            self._pending = b""
            self._overlong = True
            self._bad(result, f"line longer than {MAX_LINE} bytes")
        if rows:
            result.samples = self._block(rows, host_ns, result)
        return result

    def _line(self, line: bytes, rows: list, result: DecodeResult) -> None:
        self.stats["lines"] += 1
        if self._skip > 0:
            self._skip -= 1
            self.stats["header_lines"] += 1
            return
        if not line.strip():
            return
        if self.line_filter is not None and self.line_filter not in line:
            self.stats["ignored_lines"] += 1
            return
        try:
            row = self._parse(line)
        except ValueError as exc:
            if self._in_header:
                self.stats["header_lines"] += 1
                if self.stats["header_lines"] == HEADER_LINES_WARNING:
                    result.events.append(LinkEvent("warning", self._no_data_hint(line)))
            else:
                self._bad(result, str(exc))
            return
        self._in_header = False
        if row is not None:
            rows.append(row)

    def _no_data_hint(self, line: bytes) -> str:
        """Why no line parsed yet: name the options, and the separators the lines do contain."""
        seen = [name for name, sep in (("tab", b"\t"), ("comma", b","), ("semicolon", b";")) if sep in line]
        sep = {None: "whitespace", "numbers": "numbers"}.get(self.separator, repr(self.separator))
        hint = f" (the lines contain: {', '.join(seen)})" if seen else ""
        return (f"{HEADER_LINES_WARNING} lines and none is data with separator {sep} and columns "
                f"{list(self.columns)}: check the separator, columns and keys options{hint}")

    def _parse(self, line: bytes) -> tuple[float, float, float, float | None] | None:
        if self.keys is not None:
            pairs = _KEY_VALUE.findall(line)
            if not pairs:
                raise ValueError(f"no key:value pair in {line[:40]!r}")
            sample = None
            for key, value in pairs:
                k = key.decode("ascii").strip().lower()
                if k not in self.keys:
                    continue
                if k in self._partial:  # a key came again before the sample was complete: start over
                    self._partial = {}
                self._partial[k] = float(value)
                if len(self._partial) == 3:
                    p = self._partial
                    sample = (p[self.keys[0]], p[self.keys[1]], p[self.keys[2]], None)
                    self._partial = {}
            return sample
        if self.separator == "numbers":
            fields = _NUMBER.findall(line)
        elif self.separator is None:
            fields = line.split()
        else:
            fields = [f.strip() for f in line.split(self.separator.encode())]
        if len(fields) <= self._need:
            raise ValueError(f"{len(fields)} fields, column {self._need} needed")
        try:
            x, y, z = (float(fields[c]) for c in self.columns)
            tm = float(fields[self.time_column]) if self.time_column is not None else None
        except ValueError:
            raise ValueError(f"not a number in {line[:60]!r}") from None
        if not all(np.isfinite(v) for v in (x, y, z)) or (tm is not None and not np.isfinite(tm)):
            raise ValueError(f"non-finite value in {line[:60]!r}")
        return x, y, z, tm

    def _bad(self, result: DecodeResult, detail: str) -> None:
        self.stats["bad_lines"] += 1
        ev = result.events
        if ev and ev[-1].kind == "bad_frame" and ev[-1].data.get("what") == "line":
            ev[-1] = LinkEvent("bad_frame", ev[-1].detail, ev[-1].count + 1, ev[-1].t, ev[-1].data)
        else:
            ev.append(LinkEvent("bad_frame", f"dropped a line: {detail}", t=self._last_t, data={"what": "line"}))

    def _block(self, rows: list, host_ns: int, result: DecodeResult) -> SampleBlock:
        acc = np.array([r[:3] for r in rows], np.float64) * self._scale
        if self.time_column is None:
            idx = self._count + np.arange(len(rows), dtype=np.int64)
            t = idx / float(self.rate_hz)
        else:
            t, keep = self._times([r[3] for r in rows], result)
            acc = acc[keep]
            idx = self._count + np.arange(t.size, dtype=np.int64)
        if t.size:
            self._count = int(idx[-1]) + 1
            self._last_t = float(t[-1])
        self.stats["samples"] += int(t.size)
        return SampleBlock(t, acc, idx, np.full(t.size, host_ns, np.int64))

    def _times(self, raw: list[float], result: DecodeResult) -> tuple[np.ndarray, np.ndarray]:
        """Device times to stream times: re-zeroed, unwrapped (u32 millis/micros), strictly increasing."""
        wrap = 2.0**32 * self._time_scale
        out, keep = [], []
        for value in raw:
            v = value * self._time_scale
            if self._t0 is None:  # first sample, or first after a reset: continue the time line
                self._t0 = v if self._last_t is None else v - self._last_t - self._step
                self._raw_prev = v
            if self._time_scale < 1.0 and v < self._raw_prev - wrap / 2:
                self._t0 -= wrap  # millis()/micros() wrapped
            self._raw_prev = v
            t = v - self._t0
            if self._last_t is not None and t <= self._last_t:
                keep.append(False)
                self._bad(result, "time column did not increase")
                continue
            if self._last_t is not None:
                self._step = t - self._last_t
            keep.append(True)
            out.append(t)
            self._last_t = t
        return np.array(out, np.float64), np.array(keep, bool)
