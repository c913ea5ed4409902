"""Where running emulators register: portable (no os.getuid on Windows) and private to the user (0700),
never a shared folder another user could plant boards in."""

from __future__ import annotations

import json
import os
import stat
import tempfile

import pytest

from twitchsense.acquisition import ports
from twitchsense.errors import TwitchsenseError


@pytest.fixture
def shared_tmp(tmp_path, monkeypatch):
    """No TWITCHSENSE_RUNTIME_DIR, no XDG_RUNTIME_DIR: the fallback in the (shared) temp folder."""
    monkeypatch.delenv("TWITCHSENSE_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_the_fallback_in_the_temp_folder_is_private(shared_tmp):
    entry = ports.register_virtual_board("k", "/dev/pts/99", "virtual board")
    d = entry.parent
    assert d.parent == shared_tmp and d.name.startswith("twitchsense-")
    if os.name == "posix":
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    ports.unregister_virtual_board(entry)


def test_without_getuid_as_on_windows(shared_tmp, monkeypatch):
    monkeypatch.delattr(os, "getuid", raising=False)
    monkeypatch.delattr(os, "geteuid", raising=False)
    for name in ("LOGNAME", "USER", "LNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USERNAME", "Alice Smith")  # what Windows sets
    assert ports.runtime_dir() == shared_tmp / "twitchsense-Alice_Smith"
    monkeypatch.delenv("USERNAME")
    assert ports.runtime_dir() == shared_tmp / "twitchsense-user"  # no name at all: still somewhere


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_an_existing_runtime_folder_open_to_others_is_closed(shared_tmp):
    d = ports.runtime_dir()
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    ports.register_virtual_board("k", "/dev/pts/99", "virtual board")
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to make another user's folder")
def test_a_runtime_folder_of_another_user_is_never_used(shared_tmp):
    d = ports.runtime_dir()
    d.mkdir(mode=0o777)
    os.chmod(d, 0o777)
    (d / "board-1-x.json").write_text(json.dumps({"device": "/dev/null", "pid": 1, "description": "planted"}))
    os.chown(d, 12345, 12345)
    with pytest.raises(TwitchsenseError, match=f"{d}: .*belongs to another user"):
        ports.register_virtual_board("k", "/dev/pts/99", "virtual board")
    assert ports.virtual_ports() == []  # a planted board is never listed, nor opened by --port auto
