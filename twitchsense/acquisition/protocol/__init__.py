"""Byte-stream decoders for sensor boards: the project's own protocol, text lines, OpenBCI Cyton.

Every decoder is a pure, incremental object: ``feed(bytes)`` in, a
:class:`~twitchsense.acquisition.protocol.base.DecodeResult` (samples, board info, link
events) out. Decoders never raise on bad bytes; they count and report them.
"""

from .base import BoardInfo, DecodeResult, Decoder, Reply
from .cyton import CytonDecoder
from .text import TextLineDecoder
from .twitchsense_decoder import TwitchsenseDecoder

#: The protocols a board may speak, by the name ``--protocol`` takes (the project's own first).
PROTOCOLS = ("twitchsense", "text", "cyton")

__all__ = ["PROTOCOLS", "BoardInfo", "CytonDecoder", "DecodeResult", "Decoder", "Reply", "TextLineDecoder",
           "TwitchsenseDecoder"]
