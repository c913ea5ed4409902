"""A transparent non-ML baseline: a band-energy threshold detector.

In the spirit of OpenSeizureDetector's algorithm: a window counts when the
power in a twitch band passes both an absolute threshold and a share of the
total movement power. Twitches are brief, so there is no persistence rule:
consecutive counting windows (gaps under ``merge_s`` bridged) form one event.

Per window of ``window_s`` (step ``step_s``) of the high-passed magnitude:

- ``band_rms`` = RMS of the signal band-passed to ``band_hz`` (3-20 Hz: the
  main frequencies of jerks, tics and fasciculations);
- counts when ``band_rms >= abs_g`` and ``band power / total power >= ratio``.

``peak_g`` is the peak high-passed magnitude within the event; ``confidence``
is ``band_rms / (2 * abs_g)`` capped at 1. Fixed, documented thresholds: it is
a yardstick, not tuned on the evaluation data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from ..io.recording import Recording
from ..types import TwitchEvent
from .preprocess import highpass_sos, resample_recording


@dataclass
class BandEnergyDetector:
    """Band-energy threshold detector (see module docstring)."""

    rate_hz: float = 100.0
    band_hz: tuple = (3.0, 20.0)
    background_hz: float = 1.0
    window_s: float = 0.2
    step_s: float = 0.05
    abs_g: float = 0.025
    ratio: float = 0.5
    merge_s: float = 0.1

    name = "band-energy baseline"

    def detect(self, rec: Recording) -> list[TwitchEvent]:
        fs = self.rate_hz
        hp_sos = highpass_sos(fs, self.background_hz)
        bp_sos = signal.butter(2, self.band_hz, btype="bandpass", fs=fs, output="sos")
        w = int(round(self.window_s * fs))
        s = max(1, int(round(self.step_s * fs)))
        events: list[TwitchEvent] = []
        for t0, x in resample_recording(rec.t, rec.acc, rec.sample_rate_hz, fs, rec.gap_s):
            if x.shape[0] < max(w, 16):
                continue
            hp = signal.sosfiltfilt(hp_sos, x, axis=0)
            bp = signal.sosfiltfilt(bp_sos, x, axis=0)
            mag = np.sqrt((hp ** 2).sum(axis=1))
            ctot = np.concatenate([[0.0], np.cumsum((hp ** 2).sum(axis=1))])
            cband = np.concatenate([[0.0], np.cumsum((bp ** 2).sum(axis=1))])
            starts = np.arange(0, x.shape[0] - w + 1, s)
            tot = (ctot[starts + w] - ctot[starts]) / w
            band = (cband[starts + w] - cband[starts]) / w
            band_rms = np.sqrt(np.maximum(band, 0))
            on = (band_rms >= self.abs_g) & (band >= self.ratio * np.maximum(tot, 1e-12))
            idx = np.flatnonzero(on)
            if idx.size == 0:
                continue
            gap = int(round(self.merge_s / self.step_s)) + 1
            splits = np.flatnonzero(np.diff(idx) > gap) + 1
            for run in np.split(idx, splits):
                a, b = starts[run[0]], starts[run[-1]] + w
                pk = float(mag[a:b].max())
                conf = float(min(1.0, band_rms[run].max() / (2 * self.abs_g)))
                events.append(TwitchEvent(onset=round(t0 + a / fs, 4), duration=round((b - a) / fs, 4),
                                          peak_g=pk, confidence=conf))
        return events
