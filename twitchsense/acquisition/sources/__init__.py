"""Sources of samples for the live pipeline: serial boards, replayed recordings, the simulator.

Every source is iterable of :class:`~twitchsense.stages.SourceItem`, has a ``meta``
dict (sidecar fields) and ``close()``; downstream stages cannot tell them apart.
"""
