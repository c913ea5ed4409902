"""Helpers shared by the benchmark scripts: synthetic day-long recordings and measurement."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CACHE_ROOT = Path(os.environ.get("TWITCHSENSE_BENCH_CACHE", Path(tempfile.gettempdir()) / "twitchsense-bench"))
#: the package's sources that write the cached recordings: the simulator and the recording format
CACHE_SOURCES = ("io/recording.py", "io/writer.py", "simulate")


@functools.lru_cache(maxsize=None)
def cache_dir() -> Path:
    """The cache folder of this code: one per package version and hash of :data:`CACHE_SOURCES`.

    After a change to the simulator or the recording format the benchmarks write new
    recordings instead of reusing stale ones. Folders of other versions are left alone (other
    checkouts may use them); delete them freely. The package is located, not imported, so that
    no benchmark process pays for its imports.
    """
    spec = importlib.util.find_spec("twitchsense")
    pkg = Path(spec.submodule_search_locations[0])  # type: ignore[union-attr,index]
    digest = hashlib.sha256()
    for rel in CACHE_SOURCES:
        path = pkg / rel
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(f.relative_to(pkg).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    try:
        version = importlib.metadata.version("twitchsense")
    except importlib.metadata.PackageNotFoundError:
        version = "src"
    folder = CACHE_ROOT / f"{version}-{digest.hexdigest()[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def synthetic_day_csv(hours: float = 24.0, rate: float = 100.0, seed: int = 0) -> Path:
    """A ``hours``-long recording at ``rate`` Hz (noise plus gravity), written once and cached."""
    from twitchsense.io.writer import RecordingWriter

    path = cache_dir() / f"synthetic_{hours:g}h_{rate:g}hz_seed{seed}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * rate)
    tmp = path.with_suffix(".part.csv")
    with RecordingWriter(tmp, {"sample_rate_hz": rate}, fsync=False) as w:
        for i in range(0, n, 1_000_000):
            m = min(1_000_000, n - i)
            t = (i + np.arange(m)) / rate
            acc = rng.normal(0.0, 0.004, (m, 3)) + np.array([0.0, 0.0, 1.0])
            w.append(t, acc)
    tmp.rename(path)
    tmp.with_suffix(".json").rename(path.with_suffix(".json")) if tmp.with_suffix(".json").exists() else None
    return path


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux: ru_maxrss is in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_isolated(module: str, *args: str) -> str:
    """Run ``python -m module args`` in a fresh process so its peak memory is its own."""
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=True)
    return out.stdout


NO_MODEL = "not available yet (issue #6: no shipped model in models/)"


def shipped_model():
    """The shipped detector model (``twitchsense/data/default.skops``), or None while it is not built (issue #6)."""
    try:
        from twitchsense.detection.model import default_model_path, load_model
        from twitchsense.errors import ModelError
    except ImportError:
        return None
    try:
        return load_model(default_model_path())
    except ModelError:
        return None
