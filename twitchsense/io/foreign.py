"""Bring foreign CSVs (other column names, units, separators) into the interchange format.

Nothing is guessed: the caller names the time column and its unit, the axis
columns and their unit, and the separator.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import RecordingError
from ..units import ACC_UNITS, TIME_UNITS
from .recording import Recording, read_samples


def import_foreign(path: str | os.PathLike, *, time_col: str | None = "t", time_unit: str = "s",
                   axes: Sequence[str] = ("ax", "ay", "az"), units: str = "g", sep: str = ",",
                   decimal: str = ".", rate_hz: float | None = None,
                   rezero: bool = True) -> Recording:
    """Read a foreign CSV through an explicit mapping and return a :class:`Recording`.

    ``time_col=None`` means the file has no time column: ``t = i / rate_hz``.
    Repeated timestamps (common in phone exports) are an error, reported with the line.
    """
    path = Path(path)
    if units not in ACC_UNITS:
        raise RecordingError(path, f"unknown unit {units!r}; choose one of {', '.join(ACC_UNITS)}")
    if time_unit not in TIME_UNITS:
        raise RecordingError(path, f"unknown time unit {time_unit!r}; choose one of {', '.join(TIME_UNITS)}")
    if len(axes) != 3:
        raise RecordingError(path, f"need exactly three axis columns, got {len(axes)}: {', '.join(axes)}")
    if time_col is None and not rate_hz:
        raise RecordingError(path, "no time column given: pass the sample rate (--rate HZ)")
    columns = ([time_col] if time_col else []) + list(axes)
    data, info = read_samples(path, columns, sep=sep, decimal=decimal, strict_increasing=time_col)
    if time_col:
        t = data[:, 0] * TIME_UNITS[time_unit]
        acc = data[:, 1:4]
    else:
        t = np.arange(data.shape[0]) / float(rate_hz)
        acc = data
    if rezero:
        t = t - t[0]
    meta = {"notes": f"imported from {path.name} (time {time_col or 'from rate'} in {time_unit}, "
                     f"axes {','.join(axes)} in {units})"}
    if rate_hz:
        meta["sample_rate_hz"] = float(rate_hz)
    return Recording(t=t, acc=acc * ACC_UNITS[units], meta=meta, path=None, info=info)
