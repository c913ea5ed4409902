"""twitchsense: detect muscle twitches in wearable accelerometer data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("twitchsense")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0+src"

from .errors import ModelError, RecordingError, TwitchsenseError  # noqa: E402
from .io.recording import Recording, read_recording, write_recording  # noqa: E402

__all__ = ["Recording", "read_recording", "write_recording", "RecordingError", "ModelError",
           "TwitchsenseError", "__version__"]
