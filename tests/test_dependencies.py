"""The scikit-learn range: declared once in pyproject.toml and in the code, any other version refused with one line;
a command whose optional extra is missing names the extra in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from twitchsense import cli
from twitchsense.dependencies import SCIKIT_LEARN_RANGE, check_scikit_learn
from twitchsense.errors import TwitchsenseError
from twitchsense.io.outputs import write_detections

from conftest import cli_env

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_declares_the_range_the_code_checks_and_ci_tests_its_floor():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [d for deps in project["optional-dependencies"].values() for d in deps]
    declared = {d.split(">", 1)[0].split("<", 1)[0].strip(): d for d in extras + project["dependencies"]}
    assert declared["scikit-learn"] == f"scikit-learn{SCIKIT_LEARN_RANGE}"
    oldest = dict(line.split("==") for line in (ROOT / ".ci" / "oldest.txt").read_text().splitlines()
                  if line and not line.startswith("#"))
    for name, pin in oldest.items():  # every floor pyproject declares is the version CI installs
        assert f"{name}>={pin}" in declared[name] or f"{name}>={pin.rsplit('.', 1)[0]}" in declared[name], name
    assert project["requires-python"] == ">=3.11"


@pytest.mark.parametrize("found", ["1.3.2", "1.5.9", "1.10.0", "2.0.1"])
def test_an_untested_scikit_learn_is_refused_with_one_line(found):
    with pytest.raises(TwitchsenseError, match=rf"needs scikit-learn>=1\.6,<1\.10, this is scikit-learn {found}: "
                                               r"pip install"):
        check_scikit_learn(found)


@pytest.mark.parametrize("found", ["1.6.1", "1.9.1", "1.9.0rc1"])
def test_a_tested_scikit_learn_passes(found):
    check_scikit_learn(found)


def test_the_cli_refuses_an_untested_scikit_learn_before_any_work(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("twitchsense.dependencies.version", lambda name: "1.3.2")
    rc = cli.main(["detect", str(ROOT / "recordings" / "demo" / "rest.csv"), "-o", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "needs scikit-learn>=1.6,<1.10, this is scikit-learn 1.3.2" in err[0]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", [["report", "recordings/demo/rest.csv", "--detections", "{tmp}"],
                                     ["simulate", "--plot", "{tmp}/gallery.png"]])
def test_a_command_without_its_extra_names_the_extra_in_one_line(tmp_path, command):
    """A plain install has no matplotlib (the extra 'plot'): ``report`` and ``simulate --plot`` say which
    extra to install, in one line, and exit 1. Here matplotlib is hidden from a real subprocess."""
    hidden = tmp_path / "hidden"
    (hidden / "matplotlib").mkdir(parents=True)
    (hidden / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib in a plain install')\n")
    write_detections(tmp_path / "rest.detected.csv", [])
    env = cli_env()
    env["PYTHONPATH"] = f"{hidden}{os.pathsep}{env['PYTHONPATH']}"
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    res = subprocess.run([sys.executable, "-m", "twitchsense", *args], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "needs matplotlib, which comes with the extra 'plot': pip install 'twitchsense[plot]'" in res.stderr
