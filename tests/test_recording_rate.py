"""A recording's sample rate: a sidecar that disagrees with the time stamps is told, and a file that
cannot have a rate (one sample, or every step a gap) is refused by name, never 'sample rate nan Hz'."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

from twitchsense.cli import main
from twitchsense.errors import RecordingError, RecordingWarning
from twitchsense.io.recording import Recording, read_recording, write_recording

from conftest import make_samples


def write(path, t, meta=None):
    t = np.asarray(t, dtype=float)
    write_recording(path, Recording(t, np.tile([0.0, 0.0, 1.0], (t.size, 1))))
    if meta:
        path.with_suffix(".json").write_text(json.dumps(meta))
    return path


@pytest.mark.parametrize("t, why", [
    ([0.0], "1 sample: too short to have a sample rate"),
    (np.arange(50) / 5.0, "every step of 't' is a gap (longer than 0.1 s; median 0.2 s, 5 Hz): too slow "
                          "to have a sample rate"),
])
def test_a_file_without_a_rate_is_refused_by_name(tmp_path, capsys, t, why):
    path = write(tmp_path / "short.csv", t)
    with pytest.raises(RecordingError, match="^" + re.escape(f"{path}: ") + ".*" + re.escape(why)):
        read_recording(path)
    for args in (("info", path), ("replay", path), ("detect", path, "-o", tmp_path / "out")):
        code = main([str(a) for a in args])
        err = capsys.readouterr().err
        assert code == 1 and f"error: {path}: " in err and why in err, (args, err)
        assert "nan" not in err and err.count("\n") == 1


def test_a_sidecar_rate_that_disagrees_with_the_time_stamps_is_told_with_both_figures(tmp_path, cli):
    """Told once, in one line (the CLI in a real process: Python's own warning format must not show)."""
    t, _ = make_samples(500, 100.0)
    path = write(tmp_path / "r.csv", t, {"sample_rate_hz": 50})
    with pytest.warns(RecordingWarning, match=r"r.csv: the sidecar's sample_rate_hz \(50 Hz\) disagrees with "
                                              r"the time stamps' median step \(100 Hz\)"):
        rec = read_recording(path)
    assert rec.sample_rate_hz == 50.0  # the sidecar's, as before: the warning says so
    r = cli("info", path)
    assert r.returncode == 0 and r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"twitchsense info: warning: {path}: the sidecar's sample_rate_hz (50 Hz)")
    within = write(tmp_path / "ok.csv", t, {"sample_rate_hz": 104})  # 4 % off: a board's nominal rate
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_recording(within).sample_rate_hz == 104.0

