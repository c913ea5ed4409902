"""The interchange recording format: ``NAME.csv`` + ``NAME.json`` + ``NAME.events.csv``.

Every source of samples (CSV file, serial board, replay, simulator) ends up as a
:class:`Recording`: times in seconds, acceleration in g, the sample rate derived
once from the data or the sidecar, metadata, labels and the gaps found in ``t``.
Reading is strict: any malformed input raises :class:`RecordingError` naming the
file, the line and the problem.
"""

from __future__ import annotations

import csv
import json
import math
import mmap
import os
import re
import signal
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from ..errors import RecordingError, RecordingWarning
from .atomic import write_atomic

REQUIRED_COLUMNS = ("t", "ax", "ay", "az")
LABEL_COLUMNS = ("onset", "duration", "label")
SIDECAR_FIELDS = (
    "sample_rate_hz", "board", "sensor", "range_g", "placement", "subject",
    "session", "start_time", "firmware", "notes",
)
#: Sidecar fields that hold words; the names (subject, session) may also be whole numbers.
SIDECAR_TEXT_FIELDS = ("board", "sensor", "placement", "subject", "session", "firmware", "notes")
SIDECAR_NAME_FIELDS = ("subject", "session")
#: A step in ``t`` longer than this (seconds) is a gap: lost samples, never bridged.
#: Absolute, not relative to the median step, because phone and watch clocks jitter.
DEFAULT_GAP_S = 0.1
#: Files twitchsense writes beside a recording ``NAME.csv``, by suffix: labels, and the outputs of
#: ``detect`` / ``replay``. One list, read by every writer (:func:`companion_path`) and by
#: :func:`find_recordings`, which never takes one of them for a recording.
LABELS_SUFFIX = ".events.csv"
DETECTED_SUFFIX = ".detected.csv"
ALERTS_SUFFIX = ".alerts.csv"
CONTEXT_SUFFIX = ".context.csv"
RETRACTED_SUFFIX = ".retracted.csv"
COMPANION_SUFFIXES = (LABELS_SUFFIX, DETECTED_SUFFIX, ALERTS_SUFFIX, CONTEXT_SUFFIX, RETRACTED_SUFFIX)


def companion_path(folder: str | os.PathLike, name: str, suffix: str) -> Path:
    """``folder/NAME<suffix>`` for one of :data:`COMPANION_SUFFIXES`."""
    if suffix not in COMPANION_SUFFIXES:
        raise ValueError(f"{suffix!r} is not a companion suffix; add it to COMPANION_SUFFIXES")
    return Path(folder) / f"{name}{suffix}"


def sidecar_path(csv_path: str | os.PathLike) -> Path:
    """``NAME.csv`` -> ``NAME.json``."""
    p = Path(csv_path)
    return p.with_name(p.name[: -len(".csv")] + ".json") if p.name.endswith(".csv") else p.with_suffix(".json")


def labels_path(csv_path: str | os.PathLike) -> Path:
    """``NAME.csv`` -> ``NAME.events.csv``."""
    p = Path(csv_path)
    return companion_path(p.parent, recording_name(p), LABELS_SUFFIX)


def recording_name(csv_path: str | os.PathLike) -> str:
    """``dir/NAME.csv`` -> ``NAME``."""
    name = Path(csv_path).name
    return name[: -len(".csv")] if name.endswith(".csv") else name


def empty_labels() -> pd.DataFrame:
    """A label table with the required columns and no rows."""
    return pd.DataFrame({"onset": pd.Series(dtype=float), "duration": pd.Series(dtype=float),
                         "label": pd.Series(dtype=object)})


@dataclass
class Recording:
    """One accelerometer session.

    Attributes
    ----------
    t : (n,) float64 array, seconds, strictly increasing (gaps allowed).
    acc : (n, 3) float64 array, acceleration in g, gravity included.
    meta : sidecar fields (see ``SIDECAR_FIELDS``); unknown fields are kept.
    labels : label table (``onset, duration, label`` + optional extra columns).
    path : where it was read from, if anywhere.
    gap_s : a step in ``t`` longer than this many seconds is a gap.
    info : quality facts collected while reading (inferred rate, dropped tail...).
    """

    t: np.ndarray
    acc: np.ndarray
    meta: dict = field(default_factory=dict)
    labels: pd.DataFrame = field(default_factory=empty_labels)
    path: Path | None = None
    gap_s: float = DEFAULT_GAP_S
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.t = np.ascontiguousarray(self.t, dtype=np.float64)
        self.acc = np.ascontiguousarray(self.acc, dtype=np.float64)
        if self.t.ndim != 1 or self.acc.shape != (self.t.size, 3):
            raise ValueError(f"t must be (n,) and acc (n, 3), got {self.t.shape} and {self.acc.shape}")

    @property
    def name(self) -> str:
        """Recording name (file stem without ``.csv``), or the session field."""
        if self.path is not None:
            return recording_name(self.path)
        return str(self.meta.get("session") or "recording")

    @property
    def n_samples(self) -> int:
        return int(self.t.size)

    @property
    def duration_s(self) -> float:
        """Span from the first to the last sample, gaps included."""
        return float(self.t[-1] - self.t[0]) if self.t.size > 1 else 0.0

    @property
    def sample_rate_hz(self) -> float:
        """Nominal rate: the sidecar's ``sample_rate_hz``, else 1 / median step outside gaps."""
        rate = self.meta.get("sample_rate_hz")
        if rate:
            return float(rate)
        return infer_rate(self.t, self.gap_s)

    @property
    def gaps(self) -> np.ndarray:
        """``(k, 2)`` array of ``(last t before, first t after)`` for every gap."""
        dt = np.diff(self.t)
        idx = np.flatnonzero(dt > self.gap_s)
        return np.column_stack([self.t[idx], self.t[idx + 1]])

    def segments(self) -> list[slice]:
        """Index slices of the stretches between gaps."""
        idx = np.flatnonzero(np.diff(self.t) > self.gap_s) + 1
        bounds = np.concatenate([[0], idx, [self.t.size]])
        return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def summary(self) -> dict:
        """Plain figures about the recording, for printing."""
        gaps = self.gaps
        labels = self.labels
        return {
            "name": self.name,
            "samples": self.n_samples,
            "duration_s": round(self.duration_s, 3),
            "sample_rate_hz": round(self.sample_rate_hz, 3),
            "rate_from": "sidecar" if self.meta.get("sample_rate_hz") else "inferred from t",
            "gaps": int(len(gaps)),
            "gap_total_s": round(float(np.sum(gaps[:, 1] - gaps[:, 0])) if len(gaps) else 0.0, 3),
            "labels": int(len(labels)),
            "twitch_labels": int((labels["label"] == "twitch").sum()) if len(labels) else 0,
            **{k: self.meta[k] for k in ("board", "sensor", "placement", "subject") if self.meta.get(k)},
        }


def infer_rate(t: np.ndarray, gap_s: float = DEFAULT_GAP_S) -> float:
    """Sample rate from the median step of ``t``, ignoring gaps."""
    dt = np.diff(t)
    dt = dt[dt <= gap_s]
    if dt.size == 0:
        return float("nan")
    return float(1.0 / np.median(dt))


# --------------------------------------------------------------------------- reading


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_lines(path: Path) -> tuple[bytes, bytes, bool]:
    """The first two lines of a file (raw) and whether the file ends with a newline."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            first, second = f.readline(), f.readline()
            if size:
                f.seek(size - 1)
                ends_newline = f.read(1) == b"\n"
            else:
                ends_newline = True
    except FileNotFoundError:
        raise RecordingError(path, "file not found") from None
    except IsADirectoryError:
        raise RecordingError(path, "is a directory, expected a CSV recording") from None
    except PermissionError:
        raise RecordingError(path, "permission denied") from None
    return first, second, ends_newline


#: A number written with a decimal comma, as a whole field (``0,25``, ``-9,81``).
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_SEPARATORS = {";": ("semicolon", "';'"), "\t": ("tab", "tab")}


def _layout_hint(path: Path, first: str, data: str, sep: str, decimal: str) -> str | None:
    """What to pass to ``import`` when a file's separator or decimal mark is not the one given, or None.

    ``first`` is the first line, ``data`` the first data line.
    """
    def numbers(line: str, s: str) -> bool:
        return all(_is_number(c) or _DECIMAL_COMMA.match(c) for c in (c.strip().strip('"') for c in line.split(s)))

    what = ""
    if sep == ",":
        for s, (name, _) in _SEPARATORS.items():
            if s in first and ("," not in first or numbers(first, s)):
                what, sep = f"looks {name}-separated", s
                break
    comma = decimal == "." and sep != "," and any(_DECIMAL_COMMA.match(c.strip().strip('"')) for c in data.split(sep))
    if comma:
        what = f"{what}, with decimal commas" if what else "has decimal commas"
    if not what:
        return None
    flags = [f"--sep {_SEPARATORS.get(sep, (None, repr(sep)))[1]}"] + (["--decimal ,"] if comma else [])
    return f"{what}; bring it in with 'twitchsense import {path} {' '.join(flags)} -o OUT.csv'"


def _read_header(path: Path, sep: str = ",", decimal: str = ".", header: bool = True) -> tuple[list[str], bool]:
    """Return the column names and whether the file ends with a newline.

    ``header=False``: the file has no header row; its columns are named by position, ``1``, ``2``...
    """
    first, second, ends_newline = _first_lines(path)
    if not first.strip():
        raise RecordingError(path, "file is empty: expected a header row 't,ax,ay,az' and samples")
    try:
        text = first.decode("utf-8-sig").rstrip("\r\n")
        second_text = second.decode("utf-8", errors="replace").rstrip("\r\n")
    except UnicodeDecodeError:
        raise RecordingError(path, "not UTF-8 text (is it a binary file?)", line=1) from None
    hint = _layout_hint(path, text, text if not header else second_text, sep, decimal)
    if hint:
        raise RecordingError(path, hint, line=1 if header else None)
    fields = [c.strip().strip('"').strip() for c in next(csv.reader([text], delimiter=sep))]
    if not header:
        return [str(i + 1) for i in range(len(fields))], ends_newline
    if all(_is_number(f) for f in fields if f):
        raise RecordingError(
            path, f"no header row: line 1 is data ({text[:60]!r}); the first line must name "
            f"the columns t,ax,ay,az (a file without one: 'twitchsense import {path} --no-header -o OUT.csv')",
            line=1)
    return fields, ends_newline


def _unique(fields: Sequence[str]) -> list[str]:
    """Column names pandas accepts: blanks and repeats get a numbered stand-in."""
    seen: set[str] = set()
    out = []
    for i, f in enumerate(fields):
        name = f if f and f not in seen else f"{f or 'column'}#{i + 1}"
        seen.add(name)
        out.append(name)
    return out


def _column_indices(path: Path, fields: Sequence[str], wanted: Sequence[str]) -> list[int]:
    lower = [f.lower() for f in fields]
    missing = [c for c in wanted if c.lower() not in lower]
    if missing:
        raise RecordingError(
            path, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}; "
            f"found {', '.join(fields) or 'nothing'}; required: {','.join(wanted)}", line=1)
    return [lower.index(c.lower()) for c in wanted]


def _count_complete_lines(path: Path, chunk: int = 1 << 24) -> int:
    """Number of newline characters in the file, read in bounded chunks."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        return sum(m[i:i + chunk].count(b"\n") for i in range(0, m.size(), chunk))


def _diagnose(path: Path, fields: Sequence[str], idx: Sequence[int], names: Sequence[str],
              max_line: int | None, sep: str = ",", decimal: str = ".", header: bool = True) -> RecordingError:
    """Slow exact scan, run only after the fast parser failed, to name the bad line."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.reader(f, delimiter=sep)
        if header:
            next(reader, None)
        for lineno, row in enumerate(reader, start=2 if header else 1):
            if max_line is not None and lineno > max_line:
                break
            if not row or all(not c.strip() for c in row):
                return RecordingError(path, "empty line inside the data", line=lineno, header=header)
            if len(row) != len(fields):
                return RecordingError(
                    path, f"{len(row)} fields, the {'header' if header else 'first line'} has {len(fields)}",
                    line=lineno, header=header)
            for i, name in zip(idx, names):
                cell = row[i].strip()
                if cell == "":
                    return RecordingError(path, f"column '{name}' is empty", line=lineno, header=header)
                try:
                    value = float(cell.replace(decimal, ".") if decimal != "." else cell)
                except ValueError:
                    hint = ("; a decimal comma? pass --decimal ," if decimal == "." and _DECIMAL_COMMA.match(cell)
                            else "")
                    return RecordingError(path, f"column '{name}' is {cell[:30]!r}, not a number{hint}",
                                          line=lineno, header=header)
                if not math.isfinite(value):
                    return RecordingError(path, f"column '{name}' is {cell!r}, not a finite number",
                                          line=lineno, header=header)
    return RecordingError(path, "could not be parsed as CSV")


def _not_utf8(path: Path) -> RecordingError:
    """The error for a file that is not UTF-8, naming the first line that is not (slow: only after a failure)."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return RecordingError(path, f"not UTF-8 text (byte {raw[exc.start:exc.start + 1]!r} at "
                                            f"column {exc.start + 1})", line=lineno)
    return RecordingError(path, "not UTF-8 text")


#: Rows the parser turns into numbers at a time: bounds its memory on day-long files.
READ_CHUNK_ROWS = 1_000_000


@contextmanager
def _reader(path: Path, progress: bool | None) -> Iterator:
    """The open file as the parser reads it, advancing a progress bar in bytes (``None``: on a terminal)."""
    from tqdm import tqdm

    with open(path, "rb") as f, tqdm(total=path.stat().st_size, desc=f"reading {path.name}", unit="B",
                                     unit_scale=True, leave=False,
                                     disable=None if progress is None else not progress) as bar:
        class Reader:  # read() only: the parser then reads in blocks of its own choosing
            def read(self, n: int = -1) -> bytes:
                block = f.read(n)
                bar.update(len(block))
                return block

            def __iter__(self) -> Iterator[bytes]:
                return iter(f)

        yield Reader()


@contextmanager
def _interrupts_noted() -> Iterator[list]:
    """Ctrl-C while pandas' C parser reads a file comes out of it as a ``ParserError`` ("Calling read(nbytes)
    on source failed"), not as ``KeyboardInterrupt``: the yielded list notes each SIGINT, so the caller can
    tell an interruption from a bad file. Only where Python's own SIGINT handler is in place (the main thread
    of a command); elsewhere the list stays empty."""
    noted: list[int] = []
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield noted
        return

    def note(signum: int, frame) -> None:
        noted.append(signum)
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def read_samples(path: str | os.PathLike, columns: Sequence[str] = REQUIRED_COLUMNS, *,
                 sep: str = ",", decimal: str = ".",
                 strict_increasing: str | None = None) -> tuple[np.ndarray, dict]:
    """Read numeric ``columns`` of a CSV into an ``(n, len(columns))`` float64 array, fast.

    Uses pandas' C parser (a day at 100 Hz in a few seconds); on failure a slow
    exact scan names the first bad line. ``strict_increasing`` names a column
    that must increase strictly. A last line without a newline (a file cut off
    while recording) is dropped and reported in the returned info dict.
    """
    cols, info = read_columns(path, columns, sep=sep, decimal=decimal, strict_increasing=strict_increasing)
    return np.column_stack(cols), info


def read_columns(path: str | os.PathLike, columns: Sequence[str] = REQUIRED_COLUMNS, *,
                 sep: str = ",", decimal: str = ".", strict_increasing: str | None = None,
                 header: bool = True, progress: bool | None = False) -> tuple[list[np.ndarray], dict]:
    """:func:`read_samples` as one contiguous float64 array per column, read in chunks.

    ``header=False``: the file has no header row and ``columns`` name columns by position
    (``"1"`` is the first). ``progress``: a progress bar on stderr (``None``: only on a terminal).
    """
    path = Path(path)
    info: dict = {}
    fields, ends_newline = _read_header(path, sep, decimal, header)
    idx = _column_indices(path, fields, columns)
    first_line = 2 if header else 1  # the line of the first data row
    nrows = None
    if not ends_newline:
        nrows = _count_complete_lines(path) - (first_line - 1)
        info["dropped_incomplete_last_line"] = True
    max_line = None if nrows is None else nrows + first_line - 1

    def diagnose() -> RecordingError:
        return _diagnose(path, fields, idx, columns, max_line, sep, decimal, header)

    names = _unique(fields)
    parts: list[list[np.ndarray]] = [[] for _ in idx]
    rows = 0
    try:
        # No usecols: with it pandas silently shifts a row that has an extra field.
        with _interrupts_noted() as interrupts, _reader(path, progress) as f:
            for df in pd.read_csv(
                f, sep=sep, decimal=decimal, header=0 if header else None, names=names, index_col=False,
                dtype={names[i]: np.float64 for i in idx}, engine="c", nrows=nrows, skip_blank_lines=False,
                encoding="utf-8-sig", chunksize=READ_CHUNK_ROWS,
            ):
                chunk = [np.ascontiguousarray(df.iloc[:, i].to_numpy(dtype=np.float64)) for i in idx]
                del df
                bad = [(int(np.argmin(np.isfinite(c))), j) for j, c in enumerate(chunk) if not np.isfinite(c).all()]
                if bad:  # the first bad cell in file order: smallest row, then leftmost column
                    r, j = min(bad)
                    err = diagnose()
                    if err.line is None:
                        err = RecordingError(path, f"column '{columns[j]}' is empty or not a finite number",
                                             line=rows + r + first_line, header=header)
                    raise err
                for part, c in zip(parts, chunk):
                    part.append(c)
                rows += chunk[0].size
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        if interrupts:  # Ctrl-C, not a fault of the file
            raise KeyboardInterrupt from None
        if isinstance(exc, UnicodeDecodeError):
            raise _not_utf8(path) from None
        raise diagnose() from None
    if rows == 0:
        raise RecordingError(path, "no samples: the file has a header but no data rows" if header
                             else "no samples")
    cols = []
    for j in range(len(parts)):  # one column at a time: the chunks of the others are not copied meanwhile
        cols.append(parts[j][0] if len(parts[j]) == 1 else np.concatenate(parts[j]))
        parts[j] = []
    if strict_increasing is not None:
        col = cols[list(columns).index(strict_increasing)]
        step = np.diff(col)
        bad_step = np.flatnonzero(step <= 0)
        if bad_step.size:
            i = int(bad_step[0])
            what = "repeats" if step[i] == 0 else "goes backwards"
            raise RecordingError(
                path, f"'{strict_increasing}' {what}: {plain(col[i])} then {plain(col[i + 1])}; it must increase "
                f"strictly ({bad_step.size} such step{'s' if bad_step.size > 1 else ''} in the file)",
                line=i + 1 + first_line, header=header)
    return cols, info


def plain(x: float) -> str:
    """A number as people write it: ``0.02``, ``1767646800010``, never ``np.float64(0.02)``."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else f"{x:.10g}"


def read_sidecar(path: str | os.PathLike) -> dict:
    """Read and check a ``NAME.json`` sidecar; a missing file gives ``{}``."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RecordingError(path, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except UnicodeDecodeError:
        raise RecordingError(path, "not UTF-8 text") from None
    if not isinstance(meta, dict):
        raise RecordingError(path, f"must hold a JSON object, found {type(meta).__name__}")
    rate = meta.get("sample_rate_hz")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                             or not 0 < rate <= 100_000):
        raise RecordingError(path, f"'sample_rate_hz' must be a positive number, found {rate!r}")
    rng = meta.get("range_g")
    if rng is not None and (isinstance(rng, bool) or not isinstance(rng, (int, float)) or rng <= 0):
        raise RecordingError(path, f"'range_g' must be a positive number, found {rng!r}")
    for key in SIDECAR_TEXT_FIELDS:
        value = meta.get(key)
        if value is not None and not isinstance(value, str) and not (
                key in SIDECAR_NAME_FIELDS and isinstance(value, int) and not isinstance(value, bool)):
            kind = "text or a whole number" if key in SIDECAR_NAME_FIELDS else "text"
            raise RecordingError(path, f"'{key}' must be {kind}, found {value!r}")
    start = meta.get("start_time")
    if start:
        try:
            when = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        except ValueError:
            raise RecordingError(path, f"'start_time' must be ISO 8601 with an offset, found {start!r}") from None
        if when.tzinfo is None:
            warnings.warn(RecordingWarning(
                f"{path}: 'start_time' {start!r} has no UTC offset: taken as UTC (+00:00); write the offset, "
                f"e.g. '{when.isoformat()}+01:00', for the right clock times and days"), stacklevel=2)
    return meta


def read_labels(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``NAME.events.csv`` (``onset,duration,label`` + extra columns), strictly."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RecordingError(path, "not UTF-8 text") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(c.strip() for c in rows[0]):
        raise RecordingError(path, "file is empty: expected a header row 'onset,duration,label'")
    header = [c.strip().lower() for c in rows[0]]
    idx = _column_indices(path, header, LABEL_COLUMNS)
    extra = [(i, h) for i, h in enumerate(header) if i not in idx and h]
    out: dict[str, list] = {c: [] for c in LABEL_COLUMNS}
    out.update({h: [] for _, h in extra})
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        for name, i in zip(("onset", "duration"), idx[:2]):
            cell = row[i].strip()
            try:
                value = float(cell)
            except ValueError:
                raise RecordingError(path, f"column '{name}' is {cell[:30]!r}, not a number", line=lineno) from None
            if not math.isfinite(value):
                raise RecordingError(path, f"column '{name}' is {cell!r}, not a finite number", line=lineno)
            if name == "duration" and value < 0:
                raise RecordingError(path, f"duration is negative ({value})", line=lineno)
            out[name].append(value)
        label = row[idx[2]].strip()
        if not label:
            raise RecordingError(path, "column 'label' is empty", line=lineno)
        out["label"].append(label)
        for i, h in extra:
            out[h].append(row[i].strip())
    df = pd.DataFrame(out)
    for _, h in extra:  # numeric extra columns (peak_g ...) become numbers
        converted = pd.to_numeric(df[h].replace("", np.nan), errors="coerce")
        if converted.notna().sum() == (df[h] != "").sum():
            df[h] = converted
    if len(df) == 0:
        df = empty_labels()
    return df.astype({"onset": float, "duration": float})


def read_recording(path: str | os.PathLike, *, labels: bool = True,
                   gap_s: float = DEFAULT_GAP_S) -> Recording:
    """Read ``NAME.csv`` with its sidecar and labels (if present) into a :class:`Recording`."""
    path = Path(path)
    (t, *axes), info = read_columns(path, REQUIRED_COLUMNS, strict_increasing="t")
    acc = np.empty((t.size, 3))
    for j, a in enumerate(axes):  # straight into the (n, 3) layout: no intermediate copies
        acc[:, j] = a
    del axes
    meta = read_sidecar(sidecar_path(path))
    lab = empty_labels()
    lp = labels_path(path)
    if labels and lp.exists():
        lab = read_labels(lp)
    check_rate(path, t, meta.get("sample_rate_hz"), gap_s)
    check_units(path, acc)
    rec = Recording(t=t, acc=acc, meta=meta, labels=lab, path=path, gap_s=gap_s, info=info)
    if not meta.get("sample_rate_hz"):
        rec.info["rate_inferred"] = True
    return rec


#: No wearable accelerometer measures beyond this many g (the widest sold, for impacts, reach 400 g).
MAX_ABS_G = 1000.0
#: With gravity in, a worn sensor's median magnitude is near 1 g (a little more while it moves); above
#: this the axes are in another unit (m/s^2: 9.8 at rest; mg: 1000).
MAX_MEDIAN_G = 4.0
#: below this the recording seems to have had gravity taken out (a phone's "linear acceleration"): the
#: posture and stillness checks read the limb's angle from gravity, so they cannot work on it
MIN_MEDIAN_G = 0.3


def check_units(path: str | os.PathLike, acc: np.ndarray) -> None:
    """Refuse acceleration that cannot be in g: a value beyond :data:`MAX_ABS_G`, or a median magnitude
    above :data:`MAX_MEDIAN_G` (m/s^2 or mg read as g); warn below :data:`MIN_MEDIAN_G` (gravity taken
    out). Every tenth sample gives the median."""
    big = np.abs(acc) > MAX_ABS_G
    if big.any():
        i, j = np.unravel_index(int(np.argmax(big)), big.shape)
        raise RecordingError(path, f"column '{REQUIRED_COLUMNS[1 + j]}' is {plain(acc[i, j])} g, beyond what "
                                   f"an accelerometer measures ({MAX_ABS_G:g} g)", line=int(i) + 2)
    median = float(np.median(np.sqrt(np.einsum("ij,ij->i", acc[::10], acc[::10]))))
    if median < MIN_MEDIAN_G:
        warnings.warn(RecordingWarning(
            f"{path}: the median magnitude is {median:.2g} g, not near 1 g: gravity seems taken out (a phone's "
            "'linear acceleration'); the posture and stillness checks need it, so record or export the raw "
            "acceleration (with gravity) if you can"), stacklevel=3)
    if median > MAX_MEDIAN_G:
        unit = "m/s2" if 5 < median < 20 else "mg" if 500 < median < 2000 else "UNIT"
        raise RecordingError(
            path, f"the median magnitude is {median:.4g}, not near 1 g (gravity): are the axes in m/s^2 (9.8 at "
                  f"rest) or mg (1000)? bring it in with 'twitchsense import {path} --time-unit s --units {unit} "
                  "-o OUT.csv'")


#: a sidecar's rate further than this share from the time stamps' is worth a warning
RATE_TOLERANCE = 0.05


def check_rate(path: str | os.PathLike, t: np.ndarray, stated: float | None, gap_s: float = DEFAULT_GAP_S) -> None:
    """Refuse ``t`` that cannot have a sample rate (one sample, or every step a gap); warn
    (:class:`RecordingWarning`) when the sidecar's rate ``stated`` is more than 5 % from the median step's."""
    inferred = infer_rate(t, gap_s)
    if not np.isfinite(inferred):
        if t.size < 2:
            raise RecordingError(path, f"{t.size} sample: too short to have a sample rate")
        step = float(np.median(np.diff(t)))
        raise RecordingError(path, f"every step of 't' is a gap (longer than {gap_s:g} s; median {step:.3g} s, "
                                   f"{1 / step:.3g} Hz): too slow to have a sample rate")
    if stated and abs(stated - inferred) > RATE_TOLERANCE * inferred:
        warnings.warn(RecordingWarning(
            f"{path}: the sidecar's sample_rate_hz ({stated:g} Hz) disagrees with the time stamps' median "
            f"step ({inferred:.4g} Hz) by more than {RATE_TOLERANCE:.0%}; the sidecar's rate is used"),
            stacklevel=3)


# --------------------------------------------------------------------------- writing


def format_rows(t: np.ndarray, acc: np.ndarray) -> str:
    """Format samples as CSV rows (``t`` to the microsecond, g to the micro-g)."""
    if len(t) == 0:
        return ""
    block = np.column_stack([t, acc])
    return ("%.6f,%.6f,%.6f,%.6f\n" * len(block)) % tuple(block.ravel().tolist())  # one C-level format


def write_sidecar(path: str | os.PathLike, meta: dict) -> None:
    """Write ``meta`` as JSON atomically and durably (:func:`~twitchsense.io.atomic.write_atomic`)."""
    clean = {k: v for k, v in meta.items() if v is not None and v != ""}
    write_atomic(path, json.dumps(clean, indent=1, sort_keys=False) + "\n")


def write_labels(path: str | os.PathLike, labels: pd.DataFrame) -> None:
    """Write a label table with ``onset,duration,label`` first, then any extra columns."""
    cols = list(LABEL_COLUMNS) + [c for c in labels.columns if c not in LABEL_COLUMNS]
    out = labels.loc[:, cols].copy()
    # times to the microsecond like ``t`` (%.6g would round 3600.123 s to 3600.12)
    for c in ("onset", "duration"):
        out[c] = ["%.6f" % v for v in out[c].astype(float)]
    out.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")


def write_recording(path: str | os.PathLike, rec: Recording, *, chunk: int = 200_000,
                    progress: bool | None = False) -> None:
    """Write a recording as CSV (+ sidecar when it has metadata, + labels when it has any).

    ``progress``: a progress bar on stderr (``None``: only on a terminal).
    """
    from tqdm import tqdm

    path = Path(path)
    with open(path, "w", encoding="utf-8", newline="\n") as f, \
            tqdm(total=rec.n_samples, desc=f"writing {path.name}", unit=" samples", unit_scale=True, leave=False,
                 disable=None if progress is None else not progress) as bar:
        f.write(",".join(REQUIRED_COLUMNS) + "\n")
        for i in range(0, rec.n_samples, chunk):
            f.write(format_rows(rec.t[i:i + chunk], rec.acc[i:i + chunk]))
            bar.update(min(chunk, rec.n_samples - i))
    if rec.meta:
        write_sidecar(sidecar_path(path), rec.meta)
    if rec.labels is not None and len(rec.labels):
        write_labels(labels_path(path), rec.labels)


def find_recordings(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files and directories into recording CSVs (companion files skipped), sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.csv") if not q.name.endswith(COMPANION_SUFFIXES)))
        elif p.exists():
            out.append(p)
        else:
            raise RecordingError(p, "no such file or directory")
    return out
