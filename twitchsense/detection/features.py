"""Window features: one vectorised extractor, as a scikit-learn transformer.

Each input row is one window *with its surroundings*: raw acceleration
(gravity included) at ``rate_hz`` from ``context_s`` seconds before the
window's centre to ``lookahead_s`` seconds after it, laid out axis-major
(``x...``, ``y...``, ``z...``). The short look-ahead is what lets the live
path report a twitch within half a second of its end: the surroundings are
mostly the past. Rows are cut from the resampled signal on a grid of
``step_s`` by :mod:`twitchsense.detection.engine`; since each row's features depend
on that row only, streaming (window by window) and batch extraction are
identical by construction.

Features (all physical, amplitude-aware, none identifying the sample rate or
the session's noise level on its own):

- the event: log peak and RMS of the high-passed magnitude in the window
  (gravity and slow movement removed by a zero-phase high-pass at
  ``background_hz``), where the peak sits, width above 50 % / 25 % of the
  peak, rise and decay, dominant-direction share;
- spectrum of the window: power shares in ``bands`` (1 Hz to Nyquist), log
  total power, spectral centroid and flatness;
- the surroundings with the event left out: crest factor (peak over the
  median of the surroundings), activity before and after, slow movement
  (posture), orientation change across the window, nearby peaks of similar
  size, periodicity (tremor: autocorrelation of the high-passed signal at
  0.06-0.5 s; steps: of its envelope at 0.3-1.2 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .preprocess import highpass_sos

EPS = 1e-4  # g: below any sensor's noise, keeps logs and ratios finite

DEFAULT_BANDS = ((1.0, 3.0), (3.0, 8.0), (8.0, 15.0), (15.0, 30.0), (30.0, 50.0))

#: The last features, computed by :meth:`WindowFeatures.complete_rows` (periodicity: the costly ones).
LATE_FEATURES = ("tremor_periodicity", "tremor_period_s", "step_periodicity")


@dataclass
class RowParts:
    """Intermediate arrays of :meth:`WindowFeatures.partial_rows` that the late features reuse."""

    hp: np.ndarray   # (n, 3, L) high-passed rows
    mag: np.ndarray  # (n, L) their magnitude


def _surroundings(x: np.ndarray, before: int, after: int, minus: np.ndarray | None = None) -> np.ndarray:
    """``x[..., :before]`` and ``x[..., after:]`` side by side (less ``minus`` there when given).

    The same values in the same memory layout as boolean indexing ``x[..., ctx]`` (the last
    axis outermost), so that every sum over it adds in the same order, bit for bit, as the
    features were trained with; without boolean indexing's cost.
    """
    if minus is not None:
        x = x - minus  # in row order (fast), then laid out like the rest
    m = before + x.shape[-1] - after
    out = np.empty((m,) + x.shape[:-1])  # sample-major; returned as a view with the sample axis last
    xt = np.moveaxis(x, -1, 0)
    out[:before] = xt[:before]
    out[before:] = xt[after:]
    return np.moveaxis(out, 0, -1)


def _band_name(lo: float, hi: float) -> str:
    return f"band_{lo:g}_{hi:g}hz_share"


class WindowFeatures(TransformerMixin, BaseEstimator):
    """Features of a window and its surroundings from raw acceleration rows.

    Parameters
    ----------
    rate_hz : sample rate of the rows (the model's rate).
    window_s : length of the window being classified.
    context_s : seconds of surroundings before the window's centre.
    lookahead_s : seconds of signal after the window's centre (``None``: as much as
        ``context_s``, a centred row); the live path waits this long for a window's data.
    background_hz : high-pass cut-off separating movement from gravity and slow movement.
    exclude_s : half-width around the centre left out of the "surroundings" figures
        (the event itself must not count as its own context).
    bands : frequency bands (Hz) whose power shares are features; bands above
        Nyquist are clipped.
    """

    def __init__(self, rate_hz: float = 100.0, window_s: float = 0.4, context_s: float = 2.5,
                 lookahead_s: float | None = 0.4, background_hz: float = 1.0, exclude_s: float = 0.25,
                 bands: tuple = DEFAULT_BANDS) -> None:
        self.rate_hz = rate_hz
        self.window_s = window_s
        self.context_s = context_s
        self.lookahead_s = lookahead_s
        self.background_hz = background_hz
        self.exclude_s = exclude_s
        self.bands = bands

    # ------------------------------------------------------------------ geometry
    @property
    def before_samples(self) -> int:
        """Samples of a row before the window's centre (the centre's index in the row)."""
        return int(round(self.context_s * self.rate_hz))

    @property
    def after_samples(self) -> int:
        """Samples of a row from the window's centre on (the look-ahead)."""
        ahead = getattr(self, "lookahead_s", None)  # model files from before the look-ahead: centred rows
        return self.before_samples if ahead is None else int(round(ahead * self.rate_hz))

    @property
    def row_samples(self) -> int:
        """Samples per axis in one row."""
        return self.before_samples + self.after_samples

    @property
    def window_samples(self) -> int:
        return max(4, int(round(self.window_s * self.rate_hz)))

    @property
    def exclude_samples(self) -> int:
        """Half-width left out around the centre: ``exclude_s``, at least half the window."""
        return max(int(round(self.exclude_s * self.rate_hz)), self.window_samples // 2)

    def _geometry(self) -> tuple[int, int, int, int, int]:
        """Row length, window start and end, half-width left out around the centre, centre."""
        L = self.row_samples
        c = self.before_samples
        w = self.window_samples
        a = c - w // 2
        ex = min(self.exclude_samples, c - 1, L - c - 1)
        return L, a, a + w, ex, c

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        return np.asarray(self._names(), dtype=object)

    def _names(self) -> list[str]:
        names = ["log_peak_g", "log_rms_g", "peak_offset_s", "width50_s", "width25_s", "rise_s",
                 "decay_s", "direction_share", "log_power", "spectral_centroid_hz",
                 "spectral_flatness"]
        names += [_band_name(lo, hi) for lo, hi in self._bands()]
        names += ["log_crest", "log_crest_rms", "log_activity_before_g", "log_activity_after_g",
                  "log_activity_ratio", "log_slow_movement_g", "orientation_change_deg",
                  "nearby_peaks", "tremor_periodicity", "tremor_period_s", "step_periodicity"]
        return names

    def _bands(self) -> list[tuple[float, float]]:
        nyq = self.rate_hz / 2.0
        return [(float(lo), float(min(hi, nyq))) for lo, hi in self.bands if lo < nyq]

    # ------------------------------------------------------------------ estimator API
    def fit(self, X, y=None):
        """Check the row layout; nothing is learned from the data."""
        X = validate_data(self, X, reset=True, dtype=np.float64)
        if X.shape[1] != 3 * self.row_samples:
            raise ValueError(f"each row must hold 3 x {self.row_samples} samples "
                             f"({self.row_samples / self.rate_hz:g} s at {self.rate_hz:g} Hz), got {X.shape[1]} values")
        w = self.window_samples
        if not (0 < self.window_s and w // 2 < self.before_samples and w - w // 2 < self.after_samples):
            raise ValueError("the window must fit in the row: window_s / 2 shorter than context_s and lookahead_s")
        if self.after_samples <= self.exclude_samples + 1:
            raise ValueError("lookahead_s must reach past exclude_s (and half the window): "
                             "the features need some signal after the event")
        self.n_features_out_ = len(self._names())
        return self

    def transform(self, X) -> np.ndarray:
        """Rows of raw acceleration -> ``(n_rows, n_features)`` features."""
        check_is_fitted(self, "n_features_out_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.transform_rows(X.reshape(X.shape[0], 3, -1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags

    # ------------------------------------------------------------------ the extractor
    def transform_rows(self, R: np.ndarray) -> np.ndarray:
        """Features of ``(n, 3, row_samples)`` rows (no validation: the detector's fast path)."""
        F, parts = self.partial_rows(R)
        self.complete_rows(F, parts)
        return F

    @property
    def late_columns(self) -> np.ndarray:
        """Indices of the features :meth:`partial_rows` leaves out (the costly periodicity ones)."""
        return np.arange(len(self._names()) - len(LATE_FEATURES), len(self._names()))

    def partial_rows(self, R: np.ndarray) -> tuple[np.ndarray, "RowParts"]:
        """Every feature but the :attr:`late_columns` (left NaN) and what :meth:`complete_rows` needs.

        ``partial_rows`` then ``complete_rows`` give exactly :meth:`transform_rows`;
        the detector completes only rows whose score could still reach its threshold.
        """
        n = R.shape[0]
        if n == 0:
            return np.zeros((0, len(self._names()))), RowParts(np.zeros((0, 3, R.shape[-1])), np.zeros((0, R.shape[-1])))
        fs = float(self.rate_hz)
        L, a, b, ex, c = self._geometry()
        w = b - a
        hp = signal.sosfiltfilt(highpass_sos(fs, self.background_hz), R, axis=-1)
        mag = np.sqrt(hp[:, 0] ** 2 + hp[:, 1] ** 2 + hp[:, 2] ** 2)  # (n, L); element-wise: batch-size independent

        # --- the event in the window
        mw = mag[:, a:b]
        ipk = np.argmax(mw, axis=1)
        pk = mw[np.arange(n), ipk]
        rms = np.sqrt(np.mean(mw ** 2, axis=1))
        peak_offset = (ipk - (c - a)) / fs
        above50 = mw >= 0.5 * pk[:, None]
        above25 = mw >= 0.25 * pk[:, None]
        width50 = above50.sum(axis=1) / fs
        width25 = above25.sum(axis=1) / fs
        first25 = np.argmax(above25, axis=1)
        last25 = w - 1 - np.argmax(above25[:, ::-1], axis=1)
        rise = (ipk - first25) / fs
        decay = (last25 - ipk) / fs
        hw = hp[:, :, a:b]
        cov = np.empty((n, 3, 3))
        for i in range(3):
            for j in range(i, 3):
                cov[:, i, j] = cov[:, j, i] = (hw[:, i] * hw[:, j]).sum(axis=-1)
        ev = np.linalg.eigvalsh(cov)
        direction = ev[:, -1] / (ev.sum(axis=1) + EPS ** 2)

        # --- spectrum of the window
        nfft = 1 << int(np.ceil(np.log2(max(w, 8))))
        win = np.hanning(w)
        spec = np.abs(np.fft.rfft(hw * win, n=nfft, axis=-1)) ** 2
        P = spec.sum(axis=1)  # (n, nfft//2+1), summed over axes
        f = np.fft.rfftfreq(nfft, 1.0 / fs)
        use = f >= 1.0
        Pu = P[:, use] + 1e-12
        total = Pu.sum(axis=1)
        log_power = np.log10(total / (w * np.sum(win ** 2)) + 1e-10)
        centroid = (Pu * f[use]).sum(axis=1) / total
        flatness = np.exp(np.mean(np.log(Pu), axis=1)) / np.mean(Pu, axis=1)
        shares = []
        for lo, hi in self._bands():
            sel = (f >= lo) & (f < hi) if hi < fs / 2 else (f >= lo)
            shares.append(P[:, sel].sum(axis=1) / total)

        # --- the surroundings, event left out
        ctx = np.ones(L, dtype=bool)
        ctx[c - ex:c + ex] = False
        nbf = c - ex  # the surroundings are [:nbf] (before) and [c + ex:] (after), in this order
        mag_ctx2 = _surroundings(mag, nbf, c + ex) ** 2
        # the median does not depend on the layout: partitioned in place, in row order (faster)
        med = np.median(np.concatenate([mag[:, :nbf], mag[:, c + ex:]], axis=1), axis=1, overwrite_input=True)
        ctx_rms = np.sqrt(np.mean(mag_ctx2, axis=1))
        act_before = np.sqrt(np.mean(mag_ctx2[:, :nbf], axis=1))
        act_after = np.sqrt(np.mean(mag_ctx2[:, nbf:], axis=1))
        slow_ctx = _surroundings(R, nbf, c + ex, minus=hp)
        slow_move = np.sqrt(np.sum(np.var(slow_ctx, axis=-1), axis=1))
        g_before = slow_ctx[:, :, :nbf].mean(axis=-1)
        g_after = slow_ctx[:, :, nbf:].mean(axis=-1)
        cosang = (g_before * g_after).sum(axis=1) / (
            np.linalg.norm(g_before, axis=1) * np.linalg.norm(g_after, axis=1) + 1e-9)
        orient = np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0)))
        # nearby peaks: 0.1 s blocks of the surroundings reaching half the event's peak
        blk = max(1, int(round(0.1 * fs)))
        nb = L // blk
        bmax = mag[:, 0:nb * blk:blk].copy()  # the largest of each block (exact in any order)
        for i in range(1, blk):
            np.maximum(bmax, mag[:, i:nb * blk:blk], out=bmax)
        bctx = ctx[:nb * blk].reshape(nb, blk).all(axis=1)
        nearby = (bmax[:, bctx] >= 0.5 * pk[:, None]).sum(axis=1) / max(1, int(bctx.sum()))

        lg = np.log10
        feats = [lg(pk + EPS), lg(rms + EPS), peak_offset, width50, width25, rise, decay, direction,
                 log_power, centroid, flatness, *shares,
                 lg((pk + EPS) / (med + EPS)), lg((pk + EPS) / (ctx_rms + EPS)),
                 lg(act_before + EPS), lg(act_after + EPS),
                 lg((np.maximum(act_before, act_after) + EPS) / (np.minimum(act_before, act_after) + EPS)),
                 lg(slow_move + EPS), orient, nearby]
        F = np.empty((n, len(feats) + len(LATE_FEATURES)))
        F[:, :len(feats)] = np.column_stack(feats)
        F[:, len(feats):] = np.nan
        return F, RowParts(hp, mag)

    def complete_rows(self, F: np.ndarray, parts: "RowParts", rows: np.ndarray | None = None) -> None:
        """Fill the :attr:`late_columns` of ``F`` (in place), for ``rows`` only when given."""
        hp, mag = parts.hp, parts.mag
        if rows is not None:
            hp, mag = hp[rows], mag[rows]
        if hp.shape[0] == 0:
            return
        fs = float(self.rate_hz)
        L, a, b, ex, c = self._geometry()
        ctx = np.ones(L, dtype=bool)
        ctx[c - ex:c + ex] = False

        # periodicity of the surroundings (event blanked to zero after mean removal)
        def acf_max(sig: np.ndarray, lo_s: float, hi_s: float, q: int) -> tuple[np.ndarray, np.ndarray]:
            """Strongest normalised autocorrelation at lags lo_s..hi_s of the surroundings (and its lag),
            on the signal averaged over ``q`` samples (the lags of interest need no more)."""
            Lq = L // q
            if q == 2:  # the mean of each pair, as below (x0 + x1, halved), without a reduction per pair
                sq = (sig[..., 0:2 * Lq:2] + sig[..., 1:2 * Lq:2]) / 2
            else:
                sq = sig[..., :Lq * q].reshape(*sig.shape[:-1], Lq, q).mean(axis=-1)
            cq = ctx[:Lq * q].reshape(Lq, q).all(axis=1)
            fq = fs / q
            s = sq - np.where(cq, sq, 0).sum(axis=-1, keepdims=True) / cq.sum()
            s = np.where(cq, s, 0.0)
            nf = 1 << int(np.ceil(np.log2(2 * Lq)))
            F = np.fft.rfft(s, n=nf, axis=-1)
            re, im = F.view(np.float64)[..., 0::2], F.view(np.float64)[..., 1::2]
            np.square(re, out=re)
            re += np.square(im, out=im)  # the power re^2 + im^2, in place: F is now power + 0j
            im[...] = 0.0
            ac = np.fft.irfft(F, n=nf, axis=-1)[..., :Lq]
            if ac.ndim == 3:
                ac = ac.sum(axis=1)
            lo, hi = max(1, int(round(lo_s * fq))), min(Lq - 1, int(round(hi_s * fq)))
            # unbiased-ish: normalise by overlap count of the blanked mask
            m = np.fft.irfft(np.abs(np.fft.rfft(cq.astype(float), n=nf)) ** 2, n=nf)[:Lq]
            r = (ac[:, lo:hi + 1] / np.maximum(m[lo:hi + 1], 1.0)) / (ac[:, :1] / m[0] + 1e-12)
            best = r.max(axis=1)
            j = np.argmax(r >= 0.9 * best[:, None], axis=1)  # the shortest lag near the best (fundamental)
            return np.clip(best, -1.0, 1.0), (lo + j) / fq

        q_tremor = max(1, int(fs // 40))  # keep >= 40 Hz for tremor up to 12 Hz
        tremor, tremor_lag = acf_max(hp, 0.06, 0.5, q_tremor)
        steps, _ = acf_max(mag, 0.3, 1.2, 2 * q_tremor)
        late = self.late_columns
        if rows is None:
            F[:, late] = np.column_stack([tremor, tremor_lag, steps])
        else:
            F[np.ix_(rows, late)] = np.column_stack([tremor, tremor_lag, steps])

