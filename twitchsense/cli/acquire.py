"""Live acquisition: ``replay``, ``stream``, ``record``, ``ports`` and ``emulate-board``."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

from ..acquisition.protocol import PROTOCOLS
from ..acquisition.protocol.text import PRESETS
from ..acquisition.sources.replay import ReplaySource, parse_speed
from ..errors import TwitchsenseError
from ..io.recording import read_recording
from ..live.pipeline import Pipeline, PipelineSummary
from ..live.sinks.record import RecordSink
from ..live.sinks.status import StatusLineSink
from ..units import ACC_UNITS
from .alerting import (add_alert_options, alerting_for, history_sink, say_replaced, store_judged_time,
                       terminal_view)
from .common import add_command
from .web import add_web_options, live_web


#: what ``replay`` and ``stream`` print, for their --help
LIVE_OUTPUT = """\
Output: on a terminal, a one-screen live view (a possible twitch at once, replaced by its
verdict about 3 s later). Piped or redirected, one line per twitch verdict, alert change and
link event: 'twitch' is a confirmed twitch (counted in rates and alerts), 'retracted (REASON)'
a possible one judged not a twitch (impact, movement-follows, not-at-rest, train);
--provisional also prints each possible twitch as it comes out. For scripts, --jsonl: every
step as JSON lines (status provisional, then confirmed or retracted under the same id)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "replay", "run the live pipeline fed from a recording, at real time or faster",
                    "twitchsense replay recordings/real-wrist/s01_01_sw.csv --speed 10 --record copy.csv\n"
                    "twitchsense replay recordings/demo/frequent-twitching.csv --jsonl events.jsonl > verdicts.txt",
                    description="run the live pipeline fed from a recording, at real time or faster.\n\n"
                    + LIVE_OUTPUT)
    p.add_argument("recording", type=Path, help="the recording to replay")
    p.add_argument("--speed", default="max",
                   help="real-time factor (1 = real time, 10 = ten times faster), or 'max' (default)")
    _add_pipeline_options(p)
    add_alert_options(p, live=False)
    add_web_options(p)
    p.set_defaults(func=run_replay)
    p = add_command(sub, "stream", "run the live pipeline fed from a serial board (or the simulator)",
                    "twitchsense emulate-board --link /tmp/board &   # or a real board\n"
                    "twitchsense stream --port /tmp/board --record session.csv",
                    description="run the live pipeline fed from a serial board (or the simulator).\n\n"
                    + LIVE_OUTPUT)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--port", help="device path, 'auto', VID:PID[:SERIAL] or hwgrep://REGEX")
    src.add_argument("--simulate", action="store_true",
                     help="no board: the physiological simulator at --rate (profile: --profile)")
    p.add_argument("--profile", default="frequent-twitching",
                   help="simulator profile for --simulate (default frequent-twitching; see 'simulate --help')")
    _add_board_options(p)
    _add_pipeline_options(p)
    p.add_argument("--duration", type=float, metavar="S", help="stop after S wall-clock seconds")
    add_alert_options(p, live=True)
    add_web_options(p)
    p.set_defaults(func=run_stream)

    p = add_command(sub, "record", "save a session from a serial board to a recording",
                    "twitchsense record --port /dev/ttyACM0 -o session.csv --duration 600")
    p.add_argument("--port", required=True, help="device path, 'auto', VID:PID[:SERIAL] or hwgrep://REGEX")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.csv", help="the recording to write")
    p.add_argument("--duration", type=float, metavar="S",
                   help="wall-clock seconds to record (reconnecting meanwhile if the board goes away); "
                        "default: until Ctrl-C")
    p.add_argument("--quiet", action="store_true", help="print only link events and the summary")
    _add_board_options(p)
    p.set_defaults(func=run_record)

    p = add_command(sub, "ports", "list serial ports and the boards on them",
                    "twitchsense ports")
    p.add_argument("--no-probe", action="store_true",
                   help="do not open ports to ask boards for their INFO (opening resets Uno-class boards)")
    p.add_argument("--baud", type=int, default=115200, help="line speed for probing (default 115200)")
    p.set_defaults(func=run_ports)

    p = add_command(sub, "emulate-board", "a virtual sensor board on a pseudo-terminal",
                    "twitchsense emulate-board --simulate --rate 100 --link /tmp/board\n"
                    "twitchsense emulate-board --replay rec.csv --unplug 10:2 --reboot 20 --drop-frames 0.01\n"
                    "twitchsense emulate-board --simulate --link /tmp/board --mark-every 5   # its marker button")
    feed = p.add_mutually_exclusive_group()
    feed.add_argument("--replay", type=Path, metavar="REC.csv", help="stream this recording (looped)")
    feed.add_argument("--simulate", action="store_true",
                      help="stream the physiological simulator (the default; profile: --profile)")
    p.add_argument("--profile", default="frequent-twitching", help="simulator profile (default frequent-twitching)")
    p.add_argument("--protocol", default="twitchsense", choices=PROTOCOLS,
                   help="what the board speaks (default twitchsense)")
    p.add_argument("--rate", type=float, help="sample rate in Hz (default: the recording's, or 100)")
    p.add_argument("--range", dest="range_g", type=int, default=4, choices=(2, 4, 8, 16),
                   help="full scale in +/- g (default 4)")
    p.add_argument("--link", type=Path, metavar="PATH",
                   help="keep a symlink here to the device (re-pointed after a simulated unplug)")
    p.add_argument("--name", default="twitchsense-emulator", help="board name in its INFO")
    p.add_argument("--drop-frames", type=float, default=0.0, metavar="P", help="drop each frame with probability P")
    p.add_argument("--corrupt", type=float, default=0.0, metavar="P", help="corrupt one byte of a frame with probability P")
    p.add_argument("--garbage", type=float, default=0.0, metavar="P", help="send junk bytes before a frame with probability P")
    p.add_argument("--unplug", action="append", default=[], metavar="AT:FOR",
                   help="AT seconds after START, vanish for FOR seconds (repeatable)")
    p.add_argument("--stall", action="append", default=[], metavar="AT:FOR",
                   help="AT seconds after START, hang (silent, deaf) for FOR seconds (repeatable)")
    p.add_argument("--reboot", action="append", type=float, default=[], metavar="AT",
                   help="reboot AT seconds after START (repeatable)")
    p.add_argument("--mark-every", type=float, metavar="S",
                   help="press the board's marker button every S seconds after START (MARK frames, protocol "
                        "v1.1; the host records them as 'felt' markers)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault injection and the simulator")
    p.add_argument("--duration", type=float, metavar="S", help="exit after S seconds (default: until Ctrl-C)")
    p.set_defaults(func=run_emulate_board)


def _add_board_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--protocol", default="twitchsense", choices=PROTOCOLS,
                   help="what the board speaks (default twitchsense: the project's wire protocol)")
    p.add_argument("--rate", type=float, help="sample rate in Hz to ask for (twitchsense) or that the board "
                   "sends (text boards, which do not say)")
    p.add_argument("--range", dest="range_g", type=int, default=0,
                   help="full scale in +/- g to ask for (twitchsense; 0 = keep the board's)")
    p.add_argument("--text-preset", metavar="NAME",
                   help=f"a known text sketch: {', '.join(PRESETS)}")
    p.add_argument("--separator", help="text boards: ',', 'tab', ';', 'whitespace' or 'numbers' (default ',')")
    p.add_argument("--units", choices=ACC_UNITS, help="text boards: units of the values (default g)")
    p.add_argument("--baud", type=int, default=115200, help="line speed (default 115200; USB boards ignore it)")
    p.add_argument("--no-data", type=float, default=5.0, metavar="S",
                   help="seconds without samples that raise a no-data FAULT (default 5)")


def _add_pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--record", type=Path, metavar="OUT.csv", help="also save every sample to this recording")
    p.add_argument("--quiet", action="store_true", help="print only link events and the summary")
    p.add_argument("--status-every", type=float, metavar="S",
                   help="without the live view (output piped or redirected): also print a status line "
                        "(samples/s, link health) every S seconds; by default only twitches, alert changes "
                        "and link events are printed")
    p.add_argument("--model", type=Path, metavar="PATH",
                   help="detector model (default: the model shipped in the package; without one, twitches "
                        "are not detected and the alerts judge faults only)")


def _model(args: argparse.Namespace):
    """The detector model of the live pipeline, or None when none is shipped and none is given."""
    from ..detection.model import default_model_path, load_model
    from ..errors import ModelError
    path = args.model
    if path is None:
        try:
            path = default_model_path()
        except ModelError as exc:
            print(f"note: {exc}; twitches are not detected, the alerts judge faults only", file=sys.stderr)
            return None
    return load_model(path)


def _detector(model, rate_hz: float | None, meta: dict | None = None, sinks: list = ()):
    """The streaming detector for ``model`` at the source's rate, for its sidecar ``meta`` (placement,
    sensor step); None without a model. It keeps no context spans (memory stays flat however long the
    stream); a history sink among ``sinks`` stores its judged time (a running total)."""
    if model is None:
        return None
    from ..detection.engine import StreamingDetector
    if not rate_hz:
        raise TwitchsenseError("the sample rate is unknown: pass --rate")
    detector = StreamingDetector.for_meta(model, float(rate_hz), meta, keep_context=False)
    store_judged_time(list(sinks), detector)
    return detector


def check_output(path: Path, option: str) -> None:
    """Fail early, with one line, when a recording cannot be written where asked."""
    if not path.name.endswith(".csv"):
        raise TwitchsenseError(f"{option} {path}: a recording must end in .csv")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise TwitchsenseError(f"{option} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise TwitchsenseError(f"{option} {path}: permission denied")


def _output_sinks(args: argparse.Namespace, source) -> list:
    """The status line (without the live view) and ``--record``."""
    sinks: list = []
    if not terminal_view(args):  # the live view shows link health itself
        out = sys.stderr if getattr(args, "jsonl", None) == "-" else sys.stdout
        # piped: twitches, alerts and link events only; a status line only when asked for
        every = args.status_every if args.status_every and not args.quiet else math.inf
        sinks.append(StatusLineSink(out=out, interval_s=every))
    if args.record is not None:
        sinks.append(RecordSink(args.record, source))
    return sinks


def print_summary(name: str, s: PipelineSummary, extra: str = "", out=None, sinks: list = ()) -> None:
    """One closing line: samples, durations, lost samples, the board's markers, link events, outputs that failed."""
    links = ", ".join(f"{k} {v}" for k, v in sorted(s.link_counts.items()) if k not in ("lost_samples", "status"))
    marks = f", {s.markers} marker{'' if s.markers == 1 else 's'} from the board" if s.markers else ""
    failed = ", ".join(f"{k} {v}" for k, v in sorted(s.sink_errors.items()))
    unrecorded = sum(getattr(sink, "rows_dropped", 0) for sink in sinks)
    print(f"{name}: {s.samples} samples, {s.stream_s:.3f} s of stream in {s.wall_s:.2f} s, "
          f"lost samples {s.lost_samples}{extra}{marks}" + (f"; link events: {links}" if links else "")
          + (f"; failed output calls: {failed}" if failed else "")
          + (f"; {unrecorded} samples could not be recorded" if unrecorded else ""),
          file=out or sys.stdout, flush=True)


def _alert_summary(s: PipelineSummary) -> str:
    return (f", {s.events} twitch{'' if s.events == 1 else 'es'}, "
            f"{s.alerts} alert change{'' if s.alerts == 1 else 's'}")


def _summary_out(args: argparse.Namespace):
    return sys.stderr if getattr(args, "jsonl", None) == "-" else sys.stdout


def run_replay(args: argparse.Namespace) -> int:
    speed = parse_speed(args.speed)
    if args.record is not None:
        check_output(args.record, "--record")
    rec = read_recording(args.recording)
    source = ReplaySource(rec, speed=speed)
    with Pipeline(source) as pipeline:  # closes every sink opened so far, whatever fails
        pipeline.alerts, _ = alerting_for(args, source, rec.name, live=False, sinks=pipeline.sinks,
                                          recording=args.recording)
        pipeline.detector = _detector(_model(args), rec.sample_rate_hz, rec.meta, pipeline.sinks)
        web = live_web(args, source, args.session or str(source.meta.get("session") or rec.name), pipeline.sinks,
                       terminal_view(args))
        try:
            pipeline.sinks[:0] = web.sinks + _output_sinks(args, source)  # first, as they always were
            summary = pipeline.run()
        finally:
            web.close()
    print_summary(f"replay {args.recording}", summary, _alert_summary(summary), out=_summary_out(args),
                  sinks=pipeline.sinks)
    say_replaced(pipeline.sinks, _summary_out(args))
    if web.server is not None:  # the page stays up to be looked at
        print(f"replay: done; the live page stays at {web.server.url}/live until Ctrl-C", file=sys.stderr, flush=True)
        stop = threading.Event()
        with stop_on_signals(stop):
            stop.wait()
        web.stop()
    return 0


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM set ``stop`` (the pipeline then ends cleanly) instead of raising mid-write."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in old:
        signal.signal(sig, lambda *_: stop.set())
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _serial_source(args: argparse.Namespace):
    from ..acquisition.sources.serial_board import SerialSource
    options = {"units": args.units, "preset": args.text_preset, "separator": args.separator} \
        if args.protocol == "text" else {}
    return SerialSource(args.port, protocol=args.protocol, baudrate=args.baud, rate_hz=args.rate,
                        range_g=args.range_g, no_data_s=args.no_data, **options)


def _serial_summary(source, summary: PipelineSummary) -> str:
    st = source.stats
    text = f", reconnects {st['reconnects']}, reboots {st['reboots']}, no-data faults {st['no_data_faults']}"
    clock = getattr(source.decoder, "clock", None)  # the protocol decoder tracks the board's clock
    if clock is not None and clock.n_points >= 10 and summary.stream_s >= 60:  # shorter: jitter dominates
        text += f", board clock about {clock.drift_ppm:+.0f} ppm against the host"
    return text


def run_stream(args: argparse.Namespace) -> int:
    if args.record is not None:
        check_output(args.record, "--record")
    if args.simulate:
        from ..acquisition.sources.synthetic import SimulatedSource
        source = SimulatedSource(args.rate or 100.0, profile=args.profile)
    else:
        source = _serial_source(args)
    # the pipeline owns the source and each sink from the moment it exists: a failure while
    # setting up (the model, the board, the broker) closes everything opened before it
    with Pipeline(source) as pipeline:
        pipeline.alerts, _ = alerting_for(args, source, "live", live=True, sinks=pipeline.sinks)
        model = _model(args)  # slow to load: before the board starts streaming
        if not args.simulate:
            source.open()
        pipeline.detector = _detector(model, source.meta.get("sample_rate_hz") or args.rate, source.meta,
                                      pipeline.sinks)
        web = live_web(args, source, args.session or str(source.meta.get("session") or "live"), pipeline.sinks,
                       terminal_view(args))
        try:
            pipeline.sinks[:0] = web.sinks + _output_sinks(args, source)  # first, as they always were
            stop = threading.Event()
            with stop_on_signals(stop):
                summary = pipeline.run(stop=stop, duration_s=args.duration)
        finally:
            web.stop()
    print_summary("stream", summary,
                  ("" if args.simulate else _serial_summary(source, summary)) + _alert_summary(summary),
                  out=_summary_out(args), sinks=pipeline.sinks)
    return 0


def run_record(args: argparse.Namespace) -> int:
    from ..io.recording import labels_path
    from ..io.sessionclock import SessionClock
    from ..web.markers import MarkerSink
    check_output(args.output, "-o")
    source = _serial_source(args)
    with Pipeline(source) as pipeline:
        source.open()  # fails with one line before any file is created
        pipeline.sinks += [StatusLineSink(interval_s=1e9 if args.quiet else 1.0), RecordSink(args.output, source),
                           MarkerSink(SessionClock(meta=source.meta), labels_path(args.output))]  # the board's button
        stop = threading.Event()
        with stop_on_signals(stop):
            summary = pipeline.run(stop=stop, duration_s=args.duration)
    print_summary(f"record {args.output}", summary, _serial_summary(source, summary), sinks=pipeline.sinks)
    return 0


def run_ports(args: argparse.Namespace) -> int:
    from ..acquisition.ports import list_serial_ports
    from ..acquisition.sources.serial_board import probe_board
    ports = list_serial_ports()
    if not ports:
        print("no serial ports found")
        return 0
    for p in ports:
        usb = p.usb_id or ("virtual" if p.virtual else "-")
        known = f" [{p.known_board}]" if p.known_board else ""
        serial_no = f" serial {p.serial_number}" if p.serial_number else ""
        print(f"{p.device}  {usb}{serial_no}  {p.description or '-'}{known}")
        if not args.no_probe and (p.known_board or p.virtual):
            info, why = probe_board(p.device, args.baud)
            if info is None:
                print(f"    {why}" if "in use" in why else
                      "    no answer to GET_INFO (a text or Cyton board? try 'stream --protocol text')")
            else:
                print(f"    {info.name or 'unnamed board'}: {info.sensor}, {info.sample_rate_hz:g} Hz, "
                      f"+/-{info.range_g:g} g, firmware {info.firmware}, protocol v{info.protocol}, "
                      f"uid {info.uid}")
    return 0


def _at_for(option: str, text: str) -> tuple[float, float]:
    try:
        at, dur = (float(x) for x in text.split(":"))
    except ValueError:
        raise TwitchsenseError(f"{option} must be AT:FOR in seconds (e.g. 10:2), got {text!r}") from None
    if at < 0 or dur <= 0:
        raise TwitchsenseError(f"{option} must be AT:FOR with AT >= 0 and FOR > 0, got {text!r}")
    return at, dur


def run_emulate_board(args: argparse.Namespace) -> int:
    from ..acquisition.emulator import BoardEmulator, FaultPlan
    from ..acquisition.sources.synthetic import simulated_recording
    for name in ("drop_frames", "corrupt", "garbage"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise TwitchsenseError(f"--{name.replace('_', '-')} is a probability in 0..1, got {getattr(args, name)}")
    if args.replay is not None:
        rec = read_recording(args.replay)
    else:
        rec = simulated_recording(args.rate or 100.0, seconds=120.0, seed=args.seed, profile=args.profile)
    faults = FaultPlan(drop_frames=args.drop_frames, corrupt=args.corrupt, garbage=args.garbage,
                       unplug=[_at_for("--unplug", u) for u in args.unplug],
                       stall=[_at_for("--stall", u) for u in args.stall], reboot=list(args.reboot), seed=args.seed)
    emu = BoardEmulator(rec, args.protocol, args.rate, range_g=args.range_g, link=args.link, faults=faults,
                        name=args.name, mark_every_s=args.mark_every)
    stop = threading.Event()
    with stop_on_signals(stop):
        emu.start()
        where = f"{emu.device}" + (f" (link {args.link})" if args.link else "")
        print(f"emulate-board: virtual {args.protocol} board, {emu.rate_hz:g} Hz, +/-{args.range_g} g, on {where}",
              flush=True)
        print(f"connect with: twitchsense stream --port {args.link or emu.device}"
              + (f" --protocol {args.protocol}" if args.protocol != "twitchsense" else "")
              + (f" --rate {emu.rate_hz:g} --separator tab" if args.protocol == "text" else ""), flush=True)
        end = time.monotonic() + args.duration if args.duration else None
        unplugged = False
        while not stop.wait(0.05):
            if end is not None and time.monotonic() >= end:
                break
            if emu.unplugged.is_set() != unplugged:
                unplugged = emu.unplugged.is_set()
                print("emulate-board: unplugged" if unplugged else
                      f"emulate-board: plugged back in on {emu.device}", flush=True)
            if not emu.alive:
                raise TwitchsenseError("the board emulator stopped unexpectedly")
        emu.stop()
    st = emu.stats
    print(f"emulate-board: sent {st['samples']} samples in {st['frames']} frames; dropped {st['dropped']}, "
          f"corrupted {st['corrupted']}, overflow {st['overflow']}, unplugs {st['unplugs']}, reboots {st['reboots']}, "
          f"stalls {st['stalls']}" + (f", marks {st['marks']}" if args.mark_every else ""),
          flush=True)
    return 0
