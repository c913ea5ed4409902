"""Which simulator seeds are for what, so that figures are measured on sessions nothing was chosen on.

- training: ``twitchsense train --simulate N --seed S`` simulates session ``i`` of profile number ``p``
  with seed ``S * 100_000 + p * 1_000 + i`` (:func:`training_seed`);
- development: sessions for tuning, trying things and tests (``python -m benchmarks.quality
  --development``), from :data:`DEVELOPMENT_SEED0`;
- held out: sessions for the final figures only (the model card's and ``python -m benchmarks.quality``),
  from :data:`HELD_OUT_SEED0`. No setting, threshold or design decision is made on them; training never
  simulates them (:func:`training_seed` refuses).

The simulator uses a seed's low 32 bits (:func:`twitchsense.simulate.plan.rng_for`), so every block lies
below ``2**32``.
"""

from __future__ import annotations

from ..errors import TwitchsenseError

#: first seed of the development sessions (``benchmarks.quality --development``)
DEVELOPMENT_SEED0 = 10_000
#: first seed of the held-out sessions (the final figures); the block holds :data:`HELD_OUT_BLOCK` seeds
HELD_OUT_SEED0 = 4_000_000_000
HELD_OUT_BLOCK = 1_000_000


def is_held_out(seed: int) -> bool:
    """Whether the simulator would draw a held-out session from ``seed`` (its low 32 bits)."""
    return HELD_OUT_SEED0 <= (int(seed) & 0xFFFFFFFF) < HELD_OUT_SEED0 + HELD_OUT_BLOCK


def training_seed(seed: int, profile_index: int, i: int) -> int:
    """The seed of ``train --simulate``'s session ``i`` of profile ``profile_index`` with ``--seed seed``."""
    s = int(seed) * 100_000 + profile_index * 1_000 + i
    if is_held_out(s):
        raise TwitchsenseError(f"--seed {seed} would simulate held-out sessions (seeds {HELD_OUT_SEED0}-"
                               f"{HELD_OUT_SEED0 + HELD_OUT_BLOCK - 1} are kept for the final figures): "
                               "pick another seed")
    return s
