"""The physiological simulator: labelled accelerometer recordings with twitches and look-alikes.

- :mod:`.waveforms`: one signal model per twitch class and look-alike (physical parameters in, g out);
- :mod:`.sensor`: sensor realism (noise, offsets, gain, drift, quantisation, saturation, clock, lost frames);
- :mod:`.session`: profiles and the session model (:func:`simulate_session`);
- :mod:`.inject`: real-background mode (:func:`inject_twitches`);
- :mod:`.gallery`: the class gallery picture; :mod:`.corpus`: the bundled demo corpus.
"""

from .inject import inject_twitches, still_mask
from .sensor import IDEAL_SENSOR, SensorModel
from .plan import PROFILES, TWITCH_KINDS, Profile, plan_session, render_session, simulate_session

__all__ = ["simulate_session", "inject_twitches", "PROFILES", "TWITCH_KINDS", "Profile", "plan_session",
           "render_session", "still_mask", "SensorModel", "IDEAL_SENSOR"]
