"""The Starlette application: Home, Session, Live and Review pages, their JSON and the live stream.

Built by :func:`create_app` from a :class:`WebConfig`; the same app runs under
``twitchsense serve`` and inside a live pipeline (``stream/replay --web``), where
it is given the pipeline's :class:`~twitchsense.web.live.LiveHub`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import __version__
from ..errors import TwitchsenseError
from ..history import connect_read_only
from ..io.recording import labels_path
from .live import LiveHub
from .models import RECORDED, SHIPPED, ModelShelf, agreement
from .queries import home_data, session_data
from .review import Analyses, Catalogue, candidates, decide, waveform
from .security import Guard, GuardMiddleware


def healthy_words(s: dict) -> str:
    """The session's rate against the healthy range of its placement, in words (the report's wording)."""
    from ..alerts.reference import against_range

    rate = len(s["events"]) / s["hours"] if s.get("hours") else None
    return against_range(rate, (s.get("meta") or {}).get("placement"), judged=bool(s.get("judged")))


HERE = Path(__file__).parent
#: Seconds between two pushes of the live stream to one page (at most 5 a second).
PUSH_S = 0.2
#: Largest JSON body a POST may carry.
MAX_BODY = 4096


@dataclass
class WebConfig:
    """What the app serves: a history database, recording folders, a live pipeline, and who may see it."""

    db: Path | None = None
    recordings: list[Path] = field(default_factory=list)
    hub: LiveHub | None = None
    guard: Guard = field(default_factory=Guard)
    model: Path | None = None
    #: folder of personal models (``NAME.skops``) the Session page can switch to, besides the shipped one
    models: Path | None = None
    #: set when the server shuts down: open live streams end so it need not cancel them
    closing: threading.Event = field(default_factory=threading.Event)


def create_app(config: WebConfig) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["hours"] = hours_text
    catalogue = Catalogue(config.recordings)
    shelf = ModelShelf(config.models)
    analyses = Analyses(config.model, shelf=shelf)

    def page(request: Request, template: str, **context) -> HTMLResponse:
        nav = [("Home", "/", config.db is not None), ("Live", "/live", config.hub is not None),
               ("Review", "/review", bool(config.recordings))]
        return templates.TemplateResponse(request, template, {"csrf": config.guard.csrf, "version": __version__,
                                                          "nav": [(a, b) for a, b, on in nav if on], **context})

    def read_history(query, *args):
        """``query(connection, *args)`` on a read-only connection to the history."""
        if config.db is None:
            raise HTTPException(404, "no history database given (serve --db FILE)")
        if not config.db.exists():
            raise HTTPException(404, f"no history at {config.db} yet")
        con = connect_read_only(config.db)
        try:
            return query(con, *args)
        finally:
            con.close()

    async def home(request: Request) -> Response:
        if config.db is None:
            return RedirectResponse("/live" if config.hub is not None else "/review", 303)
        data = await run_in_threadpool(read_history, home_data)
        chart = {"weeks": [w["week"] for w in data.weeks], "rates": [w["rate"] for w in data.weeks]}
        return page(request, "home.html", data=data, chart=chart, db=str(config.db), title="History")

    async def session(request: Request) -> Response:
        sid = request.path_params["sid"]
        s = await run_in_threadpool(read_history, session_data, sid)
        if s is None:
            raise HTTPException(404, f"no session {sid} in the history")
        rec = catalogue.find(s["source"]) or catalogue.find(s["name"])
        model = request.query_params.get("model") or RECORDED
        compare = request.query_params.get("compare") or ""
        for name in (model, compare):
            if name and name != RECORDED and shelf.path(name) is None:
                raise HTTPException(404, f"no model called {name!r}: the shipped one or a .skops file of --models")
        if rec is None and {model, compare} - {RECORDED, ""}:
            raise HTTPException(404, "switching the model needs the session's recording in the --recordings folders")
        context = None
        if rec is not None:
            try:
                a = await run_in_threadpool(analyses.get, rec)
                context = [{"start": c.start, "end": c.end, "state": c.state} for c in a.context]
            except TwitchsenseError:
                context = None

        async def events_of(name: str) -> list[dict]:
            if name == RECORDED:
                return s["events"]
            try:
                a = await run_in_threadpool(analyses.get, rec, name)
            except TwitchsenseError as exc:
                raise HTTPException(422, str(exc)) from None
            return [{"onset": e.onset, "duration": e.duration, "peak_g": e.peak_g, "confidence": e.confidence,
                     "kind": e.kind, "context": e.context} for e in a.events]

        title = {RECORDED: "as recorded live", SHIPPED: "the shipped model"}
        side = None
        events = await events_of(model)
        if compare and compare != model:
            other = await events_of(compare)
            side = {"a": {"name": title.get(model, model), "events": events},
                    "b": {"name": title.get(compare, compare), "events": other}, **agreement(events, other)}
        s = {**s, "events": events}
        choices = [(RECORDED, title[RECORDED])] + [(n, title.get(n, n)) for n in shelf.names()]
        return page(request, "session.html", s=s, has_recording=rec is not None, context=context, model=model,
                    model_title=title.get(model, model), compare=compare, choices=choices, side=side,
                    healthy=healthy_words(s), title=f"Session {s['name']}")

    async def session_report(request: Request) -> Response:
        sid = request.path_params["sid"]

        def build():
            s = read_history(session_data, sid)
            if s is None:
                raise HTTPException(404, f"no session {sid}")
            path = catalogue.find(s["source"]) or catalogue.find(s["name"])
            if path is None:
                raise HTTPException(404, "the session's recording is not in the --recordings folders")
            from ..types import Alert, TwitchEvent
            from ..io.recording import read_recording
            from ..report import render_report
            events = [TwitchEvent(e["onset"], e["duration"], e["peak_g"], e["confidence"], e["kind"], e["context"])
                      for e in s["events"]]
            alerts = [Alert(a["start"], a["end"], a["level"], a["rule"], a["detail"]) for a in s["alerts"]
                      if a["change"] == "raised" and not a["fault"]]
            try:
                return render_report(read_recording(path), events, alerts)
            except TwitchsenseError as exc:
                raise HTTPException(500, str(exc)) from None
        return HTMLResponse(await run_in_threadpool(build))

    # ---- live --------------------------------------------------------------------------
    def hub() -> LiveHub:
        if config.hub is None:
            raise HTTPException(404, "no live pipeline here: run 'twitchsense stream --web' or 'replay --web'")
        return config.hub

    async def live(request: Request) -> Response:
        h = hub()
        return page(request, "live.html", session=h.session, title="Live")

    async def live_stream(request: Request) -> Response:
        h = hub()

        async def events():
            seq = -1
            last_status = 0.0
            loop = asyncio.get_running_loop()
            while not config.closing.is_set():
                if await request.is_disconnected():
                    break
                new, trace, msgs = h.since(seq)
                now = loop.time()
                out = []
                if trace is not None:
                    out.append({"type": "trace", **trace})
                out += msgs
                if now - last_status >= 1.0 or seq < 0:
                    out.append(h.status())
                    last_status = now
                seq = new
                if out:
                    yield "data: " + json.dumps(out, separators=(",", ":")) + "\n\n"
                await asyncio.sleep(1.0 if h.closed and trace is None and not msgs else PUSH_S)
        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    async def live_mark(request: Request) -> Response:
        h = hub()
        await _json_body(request)
        if h.marker is None:
            raise HTTPException(409, "markers are not recorded in this run")
        m = await run_in_threadpool(h.marker.press, "web")
        if m is None:
            raise HTTPException(409, "no samples yet: nothing to mark against")
        return JSONResponse({"ok": True, "t": m.t, "time": m.time})

    # ---- review ------------------------------------------------------------------------
    def recording(request: Request) -> Path:
        path = catalogue.resolve(request.path_params["key"])
        if path is None:
            raise HTTPException(404, "no such recording in the --recordings folders")
        return path

    async def review_index(request: Request) -> Response:
        if not config.recordings:
            raise HTTPException(404, "no recording folders given (serve --recordings DIR)")
        items = await run_in_threadpool(catalogue.keys)
        return page(request, "review_index.html", items=[(k, p.name, p.parent) for k, p in items],
                    title="Review")

    async def review(request: Request) -> Response:
        path = recording(request)
        return page(request, "review.html", key=request.path_params["key"], name=path.name, title="Review")

    async def analysis(request: Request):
        path = recording(request)
        try:
            return path, await run_in_threadpool(analyses.get, path)
        except TwitchsenseError as exc:
            raise HTTPException(422, str(exc)) from None

    async def review_candidates(request: Request) -> Response:
        path, a = await analysis(request)
        return JSONResponse(await run_in_threadpool(candidates, a, labels_path(path)))

    async def review_wave(request: Request) -> Response:
        _, a = await analysis(request)
        try:
            t = float(request.query_params.get("t", ""))
        except ValueError:
            raise HTTPException(422, "t must be a number of seconds") from None
        if not (float(a.rec.t[0]) - 10 <= t <= float(a.rec.t[-1]) + 10):
            raise HTTPException(422, "t is outside the recording")
        return JSONResponse(await run_in_threadpool(waveform, a, t))

    async def review_decide(request: Request) -> Response:
        path, a = await analysis(request)
        body = await _json_body(request)
        try:
            return JSONResponse(await run_in_threadpool(decide, a, labels_path(path), body))
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        except TwitchsenseError as exc:
            raise HTTPException(409, str(exc)) from None

    async def refused(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or request.method == "POST":
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        response = page(request, "error.html", status=exc.status_code, detail=exc.detail,
                        title=str(exc.status_code))
        response.status_code = exc.status_code
        return response

    routes = [
        Route("/", home),
        Route("/session/{sid:int}", session),
        Route("/session/{sid:int}/report", session_report),
        Route("/live", live),
        Route("/live/stream", live_stream),
        Route("/live/mark", live_mark, methods=["POST"]),
        Route("/review", review_index),
        Route("/review/{key:path}", review),
        Route("/api/review/candidates/{key:path}", review_candidates),
        Route("/api/review/wave/{key:path}", review_wave),
        Route("/api/review/decide/{key:path}", review_decide, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: refused})
    app.add_middleware(GuardMiddleware, guard=config.guard)
    app.state.config = config
    return app


def hours_text(h: float) -> str:
    """``2.5 h``, ``12 min`` or ``40 s``: a duration given in hours, with its unit."""
    if h >= 1:
        return f"{h:.1f} h"
    return f"{h * 60:.0f} min" if h * 60 >= 1 else f"{h * 3600:.0f} s"


async def _json_body(request: Request) -> dict:
    """A small JSON object body, or 415/413/422."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "send JSON (content-type: application/json)")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HTTPException(413, "request body too large")
    try:
        body = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HTTPException(422, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(422, "the body must be a JSON object")
    return body
