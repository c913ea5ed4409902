"""Getting samples: byte-stream decoders (:mod:`.protocol`), pipeline sources (:mod:`.sources`:
serial boards, replayed recordings, the simulator), serial ports and the board emulator."""
