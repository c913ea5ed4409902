"""The local web app (``twitchsense serve``, ``stream/replay --web``): history, sessions, live view, review.

Needs the extra ``web`` (Starlette, uvicorn, Jinja2); :func:`require_web` says so
in one line when it is missing. Charts use uPlot (MIT, vendored in ``static/``),
so the pages work offline.
"""

from __future__ import annotations

from ..dependencies import missing_extra


def require_web() -> None:
    """Fail with one line (:func:`~twitchsense.dependencies.missing_extra`) when the web extra is not installed."""
    try:
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise missing_extra("the web app", exc.name or "starlette", "web") from None
