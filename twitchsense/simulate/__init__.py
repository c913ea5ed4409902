"""The physiological simulator: labelled accelerometer recordings with twitches and look-alikes.

- :mod:`.waveforms`: one signal model per twitch class and look-alike (physical parameters in, g out);
- :mod:`.sensor`: sensor realism (noise, offsets, gain, drift, quantisation, saturation, clock, lost frames);
- :mod:`.profiles`: session profiles and the event class names;
- :mod:`.plan`: what happens in a session and when (:func:`plan_session`);
- :mod:`.render`: the plan onto the sample grid (:func:`render_session`, :func:`simulate_session`);
- :mod:`.labels`: the label table of a rendered session;
- :mod:`.inject`: real-background mode (:func:`inject_twitches`);
- :mod:`.gallery`: the class gallery picture; :mod:`.corpus`: the bundled demo corpus.
"""

from .inject import inject_twitches, still_mask
from .plan import plan_session
from .profiles import PROFILES, TWITCH_KINDS, Profile
from .render import render_session, simulate_session
from .sensor import IDEAL_SENSOR, SensorModel

__all__ = ["simulate_session", "inject_twitches", "PROFILES", "TWITCH_KINDS", "Profile", "plan_session",
           "render_session", "still_mask", "SensorModel", "IDEAL_SENSOR"]
