"""What twitchsense needs from other packages: the scikit-learn range, and the optional extras.

The scikit-learn versions twitchsense works with are checked before a model or a feature is touched.

The detector's features need scikit-learn 1.6 or newer (``validate_data``), and the model's
cascade edits the trees' internals, which a future major release may change. So the range is
the one CI tests (the oldest pins are in ``.ci/oldest.txt``), declared in ``pyproject.toml``
(a test keeps both the same), and any other version is refused with one clear line.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

from .errors import TwitchsenseError

#: The scikit-learn versions twitchsense is tested with: at least ``MIN``, below ``BELOW``.
SCIKIT_LEARN_MIN = (1, 6)
SCIKIT_LEARN_BELOW = (1, 10)
SCIKIT_LEARN_RANGE = ">={}.{},<{}.{}".format(*SCIKIT_LEARN_MIN, *SCIKIT_LEARN_BELOW)


def _release(text: str) -> tuple[int, int]:
    """``"1.9.1"`` / ``"1.10.dev0"`` -> ``(1, 9)`` / ``(1, 10)``."""
    m = re.match(r"(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def check_scikit_learn(found: str | None = None) -> None:
    """Raise a one-line :class:`TwitchsenseError` unless the installed scikit-learn is in the tested range."""
    if found is None:
        try:
            found = version("scikit-learn")
        except PackageNotFoundError:
            raise TwitchsenseError(f"scikit-learn is not installed: pip install 'scikit-learn{SCIKIT_LEARN_RANGE}'") \
                from None
    if not SCIKIT_LEARN_MIN <= _release(found) < SCIKIT_LEARN_BELOW:
        raise TwitchsenseError(f"twitchsense needs scikit-learn{SCIKIT_LEARN_RANGE}, this is scikit-learn {found}: "
                               f"pip install 'scikit-learn{SCIKIT_LEARN_RANGE}'")


def missing_extra(what: str, package: str, extra: str) -> TwitchsenseError:
    """The one-line error of a feature whose optional package is not installed, naming the extra to install."""
    return TwitchsenseError(f"{what} needs {package}, which comes with the extra '{extra}': pip install "
                            f"'twitchsense[{extra}]' (from a clone of the repository: pip install '.[{extra}]')")


def pyplot(what: str):
    """matplotlib's pyplot, drawing to files (the Agg backend), or :func:`missing_extra` for ``plot``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise missing_extra(what, "matplotlib", "plot") from None
    return plt
