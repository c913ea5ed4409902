"""The twitch detector: configuration, preprocessing, activity context, window features, the
engine (batch and streaming), model files, training, the baseline and event-level scoring."""
