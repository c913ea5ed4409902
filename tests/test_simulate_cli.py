"""The ``simulate`` command, the class gallery and the bundled demo corpus."""

from __future__ import annotations

import filecmp

import pytest

from twitchsense.io.recording import find_recordings, read_recording
from twitchsense.simulate.corpus import INJECT_SOURCE, build_demo_corpus
from twitchsense.simulate.sensor import reading_grid

from tests.conftest import ROOT

DEMO = ROOT / "recordings" / "demo"


def test_simulate_writes_labelled_recordings(cli, tmp_path):
    res = cli("simulate", tmp_path, "--minutes", "0.5", "--seed", "4", "--rate", "50",
              "--profile", "frequent-twitching", "--profile", "rest")
    assert res.returncode == 0, res.stderr
    for name in ("frequent-twitching", "rest"):
        rec = read_recording(tmp_path / f"{name}.csv")
        assert rec.sample_rate_hz == 50.0 and rec.n_samples > 1400
        assert rec.meta["session"] == f"{name}-seed4"
    assert "twitches" in res.stdout


def test_simulate_sessions_get_consecutive_seeds(cli, tmp_path):
    res = cli("simulate", tmp_path, "--minutes", "0.2", "--seed", "7", "--sessions", "2", "--profile", "rest")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.glob("*.csv") if not p.name.endswith(".events.csv")) == \
        ["rest-seed7.csv", "rest-seed8.csv"]


def test_simulate_usage_errors_are_one_line(cli, tmp_path):
    res = cli("simulate", tmp_path, "--profile", "nap")
    assert res.returncode == 1 and "unknown profile 'nap'" in res.stderr and "Traceback" not in res.stderr
    res = cli("simulate", tmp_path, "--rate", "5")
    assert res.returncode == 1 and "out of range" in res.stderr
    res = cli("simulate")
    assert res.returncode == 1 and "name an output folder" in res.stderr
    res = cli("simulate", tmp_path, "--inject", ROOT / "recordings" / "real-wrist", "--kinds", "sneeze")
    assert res.returncode == 1 and "unknown twitch kind 'sneeze'" in res.stderr


def test_simulate_inject_and_list_profiles(cli, tmp_path):
    res = cli("simulate", tmp_path, "--inject", ROOT / "recordings" / "real-wrist" / "s04_01_sw.csv",
              "--rate-per-min", "600", "--seed", "1")
    assert res.returncode == 0, res.stderr
    rec = read_recording(tmp_path / "s04_01_sw.csv")
    assert (rec.labels.label == "twitch").sum() >= 1 and "seated" in set(rec.labels.label)
    assert "twitches injected into 1.0 s of still time, on its 0.244 mg grid" in res.stdout
    res = cli("simulate", "--list-profiles")
    assert res.returncode == 0 and "frequent-twitching" in res.stdout and \
        "6 twitches/min in bouts (myoclonic 40 %" in res.stdout


def test_simulate_inject_says_why_per_file(cli, tmp_path):
    # the short real wrist sessions are still for under a second: every file says so
    res = cli("simulate", tmp_path, "--inject", ROOT / "recordings" / "real-wrist", "--seed", "3")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 6
    for line in lines:
        assert ": no twitch injected: " in line and ("no still stretch of 1 s" in line or "no still time" in line)


def test_gallery_draws_every_class(tmp_path):
    pytest.importorskip("matplotlib")
    from twitchsense.simulate.gallery import draw_gallery

    path = draw_gallery(tmp_path / "g.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 50_000
    assert (ROOT / "docs" / "gallery.png").exists()
    assert "](docs/gallery.png)" in (ROOT / "README.md").read_text()  # the README shows it


def test_demo_corpus_is_what_the_command_regenerates(tmp_path):
    expected = sorted(p.relative_to(DEMO) for p in DEMO.rglob("*") if p.is_file())
    assert (DEMO / "frequent-twitching.csv").exists()  # the README's main command uses it
    build_demo_corpus(tmp_path, ROOT / INJECT_SOURCE)
    got = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert got == expected
    for rel in expected:
        assert filecmp.cmp(DEMO / rel, tmp_path / rel, shallow=False), f"{rel} differs: regenerate with " \
            "'python -m twitchsense.simulate.corpus'"
    # 4.4 MB before the half hour of free living (2.1 MB) and the 5-minute frequent-twitching demo
    size = sum((DEMO / rel).stat().st_size for rel in expected)
    assert size < 7_500_000


def test_demo_corpus_has_twitches_and_look_alikes():
    recs = [read_recording(p) for p in find_recordings([DEMO])]
    labels = {lab for r in recs for lab in r.labels.label}
    assert {"twitch", "walk", "typing", "tremor", "posture", "gesture", "mouse", "phone", "eating"} <= labels
    ft = read_recording(DEMO / "frequent-twitching.csv")
    assert (ft.labels.label == "twitch").sum() >= 40
    injected = [r for r in recs if "injected-real-back" in str(r.path)]
    assert len(injected) == 1 and "gaitpy" in (DEMO / "injected-real-back" / "README.md").read_text()
    assert (injected[0].labels.note == "injected").sum() >= 5


def test_the_free_living_demo_is_a_long_wrist_day_on_a_coarse_grid():
    rec = read_recording(DEMO / "free-living-wrist.csv")
    assert rec.duration_s >= 30 * 60 - 1 and rec.meta["placement"] == "wrist"
    grid = reading_grid(rec.acc)
    assert grid is not None and all(s == pytest.approx(1 / 64, rel=1e-3) for s, _ in grid)
    labels = set(rec.labels.label)
    assert {"typing", "mouse", "phone", "eating", "gesturing", "walk", "twitch"} <= labels


def test_the_readmes_main_command_raises_a_warning(cli):
    # `twitchsense replay recordings/demo/frequent-twitching.csv` with the shipped model and rules
    res = cli("replay", DEMO / "frequent-twitching.csv")
    assert res.returncode == 0, res.stderr
    assert "WARNING: " in res.stdout and "rule: frequent" in res.stdout
