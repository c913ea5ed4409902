"""Files: recordings (read, write while streaming, import foreign CSVs), the detector's and alert
engine's outputs, and the session's calendar clock."""
