"""twitchsense: detect muscle twitches in wearable accelerometer data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("twitchsense")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0+src"

from .errors import ModelError, RecordingError, TwitchsenseError  # noqa: E402


def __getattr__(name: str):
    """``Recording``, ``read_recording``, ``write_recording`` on first use: they bring in pandas, which every
    command's start-up would otherwise load before its Ctrl-C handling is in place."""
    if name in ("Recording", "read_recording", "write_recording"):
        from .io import recording
        return getattr(recording, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Recording", "read_recording", "write_recording", "RecordingError", "ModelError",
           "TwitchsenseError", "__version__"]
