"""The live pipeline (source -> detector -> alert engine -> sinks) and its sinks."""
