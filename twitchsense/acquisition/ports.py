"""Finding serial ports: real ones from ``serial.tools.list_ports``, virtual boards from ``emulate-board``.

A port is named on the command line by path (``/dev/ttyACM0``, or a symlink such
as ``/dev/serial/by-id/...``), by ``VID:PID[:SERIAL]`` (hex, like pyserial's
``hwgrep``), by ``hwgrep://REGEX``, or by ``auto``. Pseudo-terminals never appear
in ``list_ports``, so a running ``emulate-board`` registers itself in a small
runtime directory and is listed (and found by ``auto``) like a plugged board.

That directory is the user's own (``0700``): an entry planted by another user
would make ``ports`` and ``--port auto`` open a device of their choosing, so a
directory that belongs to someone else is never used, and one open to others
is closed.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from serial.tools import list_ports

from ..errors import TwitchsenseError
from ..io.atomic import write_atomic

#: USB IDs of boards and USB-serial bridges that sensor boards commonly use (pid None = any).
KNOWN_USB_IDS: dict[tuple[int, int | None], str] = {
    (0x2341, None): "Arduino",
    (0x2A03, None): "Arduino (arduino.org)",
    (0x239A, None): "Adafruit",
    (0x303A, None): "Espressif native USB (ESP32-S2/S3/C3)",
    (0x2E8A, None): "Raspberry Pi RP2040",
    (0x10C4, 0xEA60): "Silicon Labs CP210x bridge (ESP32 dev boards)",
    (0x1A86, 0x7523): "WCH CH340 bridge",
    (0x1A86, 0x55D4): "WCH CH9102 bridge",
    (0x0403, 0x6001): "FTDI FT232R bridge",
    (0x0403, 0x6015): "FTDI FT231X bridge (OpenBCI dongle)",
    (0x0D28, 0x0204): "BBC micro:bit (DAPLink)",
    (0x1366, 0x1015): "SEGGER J-Link CDC (nRF boards)",
}


@dataclass(frozen=True)
class PortInfo:
    """One serial port as listed: where it is and what USB device is behind it."""

    device: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    description: str = ""
    hwid: str = ""
    virtual: bool = False

    @property
    def usb_id(self) -> str:
        return f"{self.vid:04X}:{self.pid:04X}" if self.vid is not None and self.pid is not None else ""

    @property
    def known_board(self) -> str | None:
        """The board family this VID:PID is known for, if any."""
        if self.vid is None:
            return None
        return KNOWN_USB_IDS.get((self.vid, self.pid)) or KNOWN_USB_IDS.get((self.vid, None))


def runtime_dir() -> Path:
    """Where running emulators register (``TWITCHSENSE_RUNTIME_DIR`` overrides)."""
    env = os.environ.get("TWITCHSENSE_RUNTIME_DIR")
    if env:
        return Path(env)
    if hasattr(os, "getuid"):
        user = str(os.getuid())
    else:  # Windows: the temp folder is the user's own already; the name keeps it apart anyway
        try:
            user = re.sub(r"[^\w.-]+", "_", getpass.getuser())
        except (OSError, KeyError, ImportError, AttributeError):
            user = "user"
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"twitchsense-{user}"


def _private(d: Path) -> bool:
    """True when ``d`` is a directory of this user's that nobody else can write to (it is made so
    when it is ours and open to others); always True where there are no POSIX owners."""
    if not hasattr(os, "geteuid"):
        return d.is_dir()
    try:
        st = os.lstat(d)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return False
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(d, 0o700)
    return True


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there: ask for the exit code instead
        import ctypes
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        try:
            return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def register_virtual_board(key: str, device: str, description: str, link: str | None = None) -> Path:
    """Announce a virtual board (called by the emulator; re-called when its device changes)."""
    d = runtime_dir()
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not _private(d):
        raise TwitchsenseError(f"{d}: the folder where virtual boards register belongs to another user "
                               "(or is not a folder); remove it, or set TWITCHSENSE_RUNTIME_DIR")
    path = d / f"board-{os.getpid()}-{key}.json"
    write_atomic(path, json.dumps({"device": device, "link": link, "pid": os.getpid(), "description": description}))
    return path


def unregister_virtual_board(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def virtual_ports() -> list[PortInfo]:
    """Emulated boards of running ``emulate-board`` processes (stale entries are removed)."""
    out = []
    d = runtime_dir()
    for f in sorted(d.glob("board-*.json")) if _private(d) else []:
        try:
            entry = json.loads(f.read_text())
            pid = int(entry["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not _alive(pid):
            unregister_virtual_board(f)
            continue
        device = entry.get("link") or entry["device"]
        if os.path.exists(device):
            out.append(PortInfo(device, description=str(entry.get("description", "virtual board")),
                                hwid=f"virtual (emulate-board pid {pid})", virtual=True))
    return out


def list_serial_ports() -> list[PortInfo]:
    """Every serial port: USB/real ones first, then running virtual boards."""
    ports = [PortInfo(p.device, p.vid, p.pid, p.serial_number, p.description or "", p.hwid or "")
             for p in sorted(list_ports.comports(), key=lambda p: p.device)]
    return ports + virtual_ports()


_USB_ID = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})(?::(.+))?$")


@dataclass(frozen=True)
class PortTarget:
    """How to find a board again after it went away.

    By ``path`` (reopened as given: a symlink is followed anew each time), or by
    USB identity (``vid``, ``pid`` and, when the device has one, ``serial_number``),
    so a board that comes back as ``/dev/ttyACM1`` instead of ``ACM0`` is found.
    """

    path: str | None = None
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    label: str = ""

    def locate(self, ports: list[PortInfo] | None = None) -> str | None:
        """The device path to open now (among ``ports``, default: the ports listed now), or None."""
        if self.path is not None:
            return self.path if os.path.exists(self.path) else None
        for p in list_serial_ports() if ports is None else ports:
            if p.vid == self.vid and p.pid == self.pid and \
                    (self.serial_number is None or p.serial_number == self.serial_number):
                return p.device
        return None


def target_for(port: PortInfo) -> PortTarget:
    """The identity to reconnect to: USB identity when the port has one, else its path."""
    if port.vid is not None and port.pid is not None and not port.virtual:
        return PortTarget(vid=port.vid, pid=port.pid, serial_number=port.serial_number,
                          label=f"{port.usb_id}" + (f" serial {port.serial_number}" if port.serial_number else ""))
    return PortTarget(path=port.device, label=port.device)


def match_ports(spec: str, ports: list[PortInfo] | None = None) -> list[PortInfo]:
    """Ports matching ``VID:PID[:SERIAL]`` or ``hwgrep://REGEX`` (regex over device, description, hwid)."""
    ports = list_serial_ports() if ports is None else ports
    m = _USB_ID.match(spec)
    if m:
        vid, pid, serial = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        return [p for p in ports if p.vid == vid and p.pid == pid and (serial is None or p.serial_number == serial)]
    if spec.startswith("hwgrep://"):
        try:
            rx = re.compile(spec[len("hwgrep://"):], re.I)
        except re.error as exc:
            raise TwitchsenseError(f"--port {spec}: bad regular expression: {exc}") from None
        return [p for p in ports if rx.search(p.device) or rx.search(p.description) or rx.search(p.hwid)]
    raise TwitchsenseError(f"--port {spec!r}: expected a device path, 'auto', VID:PID[:SERIAL] or hwgrep://REGEX")


def is_port_path(spec: str) -> bool:
    """A device path (anything with a slash, or a Windows COM name), not a pattern."""
    return ("/" in spec and not spec.startswith("hwgrep://")) or re.match(r"^COM\d+$", spec, re.I) is not None


def auto_candidates(ports: list[PortInfo] | None = None) -> list[PortInfo]:
    """Ports worth probing for ``--port auto``: known board VID:PIDs, any USB serial port, virtual boards."""
    ports = list_serial_ports() if ports is None else ports
    known = [p for p in ports if p.known_board]
    usb = [p for p in ports if p.vid is not None and not p.known_board]
    return known + [p for p in ports if p.virtual] + usb
