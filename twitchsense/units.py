"""Units the project reads, defined once: acceleration and time, as factors to g and to seconds.

Used by foreign-CSV import (``twitchsense import``) and by text boards (``--units``).
"""

#: Standard gravity, m/s^2 per g.
STANDARD_GRAVITY = 9.80665
#: g per unit of each accepted acceleration unit name.
ACC_UNITS = {"g": 1.0, "mg": 1e-3, "milli-g": 1e-3, "m/s2": 1.0 / STANDARD_GRAVITY, "m/s^2": 1.0 / STANDARD_GRAVITY}
#: Seconds per unit of each accepted time unit name.
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
