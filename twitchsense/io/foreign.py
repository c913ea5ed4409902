"""Bring foreign CSVs (other column names, units, separators) into the interchange format.

Nothing is guessed: the caller names the columns, and the time unit and the acceleration
unit either come from the caller or from evidence that leaves no doubt (time stamps that
start at a clock time in exactly one unit and step at a rate an accelerometer runs at; a
resting magnitude near 1 g in exactly one unit). What was inferred is said
(:attr:`ImportFacts.inferred`). Clock-time stamps keep the absolute start as the
sidecar's ``start_time``. Nothing is lost silently: repeated time stamps are refused unless
the caller chooses what to do with them, and the rows affected are counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone, tzinfo
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import RecordingError, TwitchsenseError
from ..units import ACC_UNITS, STANDARD_GRAVITY, TIME_UNITS
from .recording import Recording, plain, read_columns

#: What to do with rows whose time stamp repeats the one before: refuse the file, keep the first
#: row of each time stamp, or average the rows of each time stamp.
ON_DUPLICATE = ("error", "drop", "mean")
#: Clock times (Unix seconds) a recording can start at: 2000-01-01 to 2100-01-01, UTC.
EPOCH_RANGE_S = (946_684_800.0, 4_102_444_800.0)
#: Sample rates (Hz) that count as evidence for a time unit: the rates the detector accepts.
PLAUSIBLE_RATE_HZ = (25.0 * 0.9, 1000.0 * 1.1)
#: A resting magnitude within this share of 1 g is "near 1 g".
NEAR_1G = 0.15
#: The acceleration units by the name import states (each factor once).
_ACC_NAMES = {"g": "g", "mg": "mg", "m/s2": "m/s^2"}


@dataclass
class ImportFacts:
    """What an import did besides converting: for the user to read."""

    rows: int = 0
    inferred: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    repeated_rows: int = 0
    removed_rows: int = 0
    resting_g: float = float("nan")

    def lines(self, on_duplicate: str) -> list[str]:
        """The facts in words, one line each (inferred units first, warnings last)."""
        out = []
        if self.inferred:
            out.append("inferred: " + "; ".join(self.inferred))
        if self.repeated_rows:
            how = ("kept the first row of each" if on_duplicate == "drop" else "averaged the rows of each")
            out.append(f"repeated time stamps: {self.repeated_rows} rows share "
                       f"{self.repeated_rows - self.removed_rows} time stamps; {how} "
                       f"({self.removed_rows} rows fewer)")
        return out + [f"warning: {w}" for w in self.warnings]


def resolve_timezone(name: str | None) -> tzinfo | None:
    """An IANA time zone by name (``Europe/Berlin``, ``UTC``); ``None`` means the computer's local time."""
    if not name:
        return None
    if name.upper() == "UTC":
        return dt_timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TwitchsenseError(f"unknown time zone {name!r}: give an IANA name such as Europe/Berlin or UTC") from None


def clock_time(unix_s: float, tz: tzinfo | None) -> str:
    """ISO 8601 with the offset of ``tz`` (``None``: local time) of a Unix time."""
    dt = datetime.fromtimestamp(unix_s, tz=dt_timezone.utc)
    return (dt.astimezone(tz) if tz is not None else dt.astimezone()).isoformat(timespec="milliseconds")


def parse_clock_time(text: str, tz: tzinfo | None, path: Path) -> str:
    """``--start-time``: ISO 8601; without an offset it is a wall-clock time in ``tz`` (``None``: local)."""
    try:
        dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise RecordingError(path, f"start time {text!r} is not an ISO 8601 date and time "
                             "(e.g. 2026-01-05T22:00:00 or 2026-01-05T22:00:00+01:00)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz) if tz is not None else dt.astimezone()
    return dt.isoformat(timespec="milliseconds")


def _is_epoch(start: float, unit: str) -> bool:
    return EPOCH_RANGE_S[0] <= start * TIME_UNITS[unit] <= EPOCH_RANGE_S[1]


def _rate(step: float, unit: str) -> float:
    return 1.0 / (step * TIME_UNITS[unit]) if step > 0 else float("nan")


def _plausible(rate: float) -> bool:
    return PLAUSIBLE_RATE_HZ[0] <= rate <= PLAUSIBLE_RATE_HZ[1]


def time_unit_evidence(path: Path, start: float, step: float, time_unit: str | None,
                       facts: ImportFacts) -> str:
    """The time unit: the one given (checked against the step), or the one the stamps show beyond doubt.

    Beyond doubt means: the first stamp is a clock time (2000-2100) in exactly one unit, and in that
    unit the median step is a rate the detector accepts (e.g. 1.7e12 stepping by 10: milliseconds,
    100 Hz).
    """
    fits = [u for u in TIME_UNITS if _plausible(_rate(step, u))]
    if time_unit is not None:
        rate = _rate(step, time_unit)
        if not _plausible(rate) and fits:
            raise RecordingError(
                path, f"with --time-unit {time_unit} the median step of {plain(step)} is {rate:.3g} Hz; "
                f"--time-unit {fits[0]} would give {_rate(step, fits[0]):.4g} Hz")
        if not _plausible(rate):
            facts.warnings.append(f"the median step of {plain(step)} {time_unit} is {rate:.3g} Hz, outside the "
                                  "25-1000 Hz that detect accepts")
        return time_unit
    epoch = [u for u in TIME_UNITS if _is_epoch(start, u)]
    if len(epoch) == 1 and epoch[0] in fits:
        unit = epoch[0]
        facts.inferred.append(
            f"time in {unit} (stamps start at {plain(start)}, a clock time in {unit}, and step by "
            f"{plain(step)} {unit}: {_rate(step, unit):.4g} Hz)")
        return unit
    guess = (f"; with {fits[0]} the median step of {plain(step)} would be {_rate(step, fits[0]):.4g} Hz"
             if fits else "")
    raise RecordingError(path, f"name the unit of the time column (--time-unit {'|'.join(TIME_UNITS)}): "
                         f"its stamps (from {plain(start)}, median step {plain(step)}) do not show it "
                         f"beyond doubt{guess}")


def acc_unit_evidence(path: Path, resting: float, units: str | None, facts: ImportFacts) -> str:
    """The acceleration unit: the one given (a warning when rest is not near 1 g), or the only one
    in which the resting magnitude is near 1 g."""
    near = {name: shown for name, shown in _ACC_NAMES.items() if abs(resting * ACC_UNITS[name] - 1.0) <= NEAR_1G}
    if units is None:
        if len(near) != 1:
            raise RecordingError(
                path, f"name the unit of the axes (--units {'|'.join(_ACC_NAMES)}): the resting magnitude "
                f"{resting:.3g} is not near 1 g in any of them (1 for g, {STANDARD_GRAVITY:.2f} for m/s^2, "
                "1000 for mg); has the export removed gravity?")
        units, shown = next(iter(near.items()))
        facts.inferred.append(f"axes in {shown} (resting magnitude {resting:.3g} {shown}, i.e. "
                              f"{resting * ACC_UNITS[units]:.3f} g)")
    facts.resting_g = resting * ACC_UNITS[units]
    if abs(facts.resting_g - 1.0) > NEAR_1G:
        why = (f" (--units {next(iter(near))} would make it 1 g)" if near else
               " Or has the export removed gravity?" if facts.resting_g < 0.3 else "")
        facts.warnings.append(f"the resting magnitude is {facts.resting_g:.3g} g, not near 1 g: are the units "
                              f"right?{why}")
    return units


def merge_repeats(path: Path, t: np.ndarray, acc: np.ndarray, on_duplicate: str, facts: ImportFacts,
                  line_of_row: int) -> tuple[np.ndarray, np.ndarray]:
    """Refuse time going backwards; handle repeated time stamps as ``on_duplicate`` says."""
    step = np.diff(t)
    back = np.flatnonzero(step < 0)
    if back.size:
        i = int(back[0])
        raise RecordingError(path, f"time goes backwards: {plain(t[i])} then {plain(t[i + 1])} "
                             f"({back.size} such step{'s' if back.size > 1 else ''} in the file)",
                             line=i + 1 + line_of_row, header=line_of_row > 1)
    same = step == 0
    n_same = int(np.count_nonzero(same))
    if not n_same:
        return t, acc
    if on_duplicate == "error":
        i = int(np.argmax(same))
        raise RecordingError(path, f"time stamp {plain(t[i])} repeats ({n_same} repeated rows in the file); "
                             "choose what to do with them: --on-duplicate drop (keep the first) or mean "
                             "(average them)", line=i + 1 + line_of_row, header=line_of_row > 1)
    first = np.concatenate([[True], ~same])
    starts = np.flatnonzero(first)
    # rows in groups of more than one: the repeats and the rows they repeat
    facts.repeated_rows = int(n_same + np.count_nonzero(same & first[:-1]))
    facts.removed_rows = n_same
    if on_duplicate == "mean":
        counts = np.diff(np.append(starts, t.size))
        acc = np.add.reduceat(acc, starts, axis=0) / counts[:, None]
    else:
        acc = acc[starts]
    return t[starts], acc


def import_foreign(path: str | os.PathLike, *, time_col: str | None = "t", time_unit: str | None = None,
                   axes: Sequence[str] = ("ax", "ay", "az"), units: str | None = None, sep: str = ",",
                   decimal: str = ".", rate_hz: float | None = None, header: bool = True,
                   on_duplicate: str = "error", timezone: str | None = None, start_time: str | None = None,
                   progress: bool | None = False) -> Recording:
    """Read a foreign CSV through an explicit mapping and return a :class:`Recording` (time from 0).

    ``time_unit`` / ``units`` ``None``: inferred only from evidence beyond doubt, else refused.
    ``time_col=None``: the file has no time column, ``t = i / rate_hz``. ``header=False``: the file
    has no header row, and columns are named by position (``"1"`` is the first). Clock-time stamps
    become the sidecar's ``start_time`` in ``timezone`` (an IANA name; ``None``: local time);
    ``start_time`` gives it for other files. ``on_duplicate`` is one of :data:`ON_DUPLICATE`.
    What was inferred, counted and warned about is in ``rec.info["import"]`` (:class:`ImportFacts`).
    """
    path = Path(path)
    if units is not None and units not in ACC_UNITS:
        raise RecordingError(path, f"unknown unit {units!r}; choose one of {', '.join(ACC_UNITS)}")
    if time_unit is not None and time_unit not in TIME_UNITS:
        raise RecordingError(path, f"unknown time unit {time_unit!r}; choose one of {', '.join(TIME_UNITS)}")
    if on_duplicate not in ON_DUPLICATE:
        raise RecordingError(path, f"--on-duplicate must be one of {', '.join(ON_DUPLICATE)}, got {on_duplicate!r}")
    if len(axes) != 3:
        raise RecordingError(path, f"need exactly three axis columns, got {len(axes)}: {', '.join(axes)}")
    if time_col is None and not rate_hz:
        raise RecordingError(path, "no time column given: pass the sample rate (--rate HZ)")
    tz = resolve_timezone(timezone)
    columns = ([time_col] if time_col else []) + list(axes)
    cols, info = read_columns(path, columns, sep=sep, decimal=decimal, header=header, progress=progress)
    facts = ImportFacts(rows=int(cols[0].size))
    acc = np.empty((cols[0].size, 3))
    for j in range(3):  # each column freed once copied: the peak memory stays that of the samples
        acc[:, j] = cols[len(cols) - 3 + j]
        cols[len(cols) - 3 + j] = None  # type: ignore[call-overload]
    meta: dict = {}
    if time_col:
        raw = cols[0]
        del cols
        raw, acc = merge_repeats(path, raw, acc, on_duplicate, facts, line_of_row=2 if header else 1)
        if raw.size < 2:
            raise RecordingError(path, f"{raw.size} sample: too short to have a sample rate")
        steps = np.diff(raw[: 100_000 + 1])  # a median over the first 100 000 steps is evidence enough
        step = float(np.median(steps))
        time_unit = time_unit_evidence(path, float(raw[0]), step, time_unit, facts)
        t = (raw - raw[0]) * TIME_UNITS[time_unit]  # re-zeroed before scaling: no digits lost to the epoch
        if _is_epoch(float(raw[0]), time_unit):
            if start_time:
                raise RecordingError(path, f"--start-time {start_time} given, but the time stamps are clock "
                                     f"times: they start at {clock_time(float(raw[0]) * TIME_UNITS[time_unit], tz)}")
            meta["start_time"] = clock_time(float(raw[0]) * TIME_UNITS[time_unit], tz)
    else:
        t = np.arange(acc.shape[0]) / float(rate_hz)
    if start_time:
        meta["start_time"] = parse_clock_time(start_time, tz, path)
    sample = acc[:: max(1, acc.shape[0] // 200_000)]  # 200 000 rows spread over the file are evidence enough
    magnitude = np.sqrt(np.einsum("ij,ij->i", sample, sample))
    units = acc_unit_evidence(path, float(np.median(magnitude)), units, facts)
    acc *= ACC_UNITS[units]
    if rate_hz:
        meta["sample_rate_hz"] = float(rate_hz)
    meta["notes"] = (f"imported from {path.name} (time {time_col or 'from rate'}"
                     f"{f' in {time_unit}' if time_col else ''}, axes {','.join(axes)} in {units})")
    info["import"] = facts
    return Recording(t=t, acc=acc, meta=meta, path=None, info=info)
