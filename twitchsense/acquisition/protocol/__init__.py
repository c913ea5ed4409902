"""Byte-stream decoders for sensor boards: the project's own protocol, text lines, OpenBCI Cyton.

Every decoder is a pure, incremental object: ``feed(bytes)`` in, a
:class:`~twitchsense.acquisition.protocol.base.DecodeResult` (samples, board info, link
events) out. Decoders never raise on bad bytes; they count and report them.
"""

from ...types import LinkEvent, SampleBlock
from .base import BoardInfo, DecodeResult, Decoder, Reply
from .cyton import CytonDecoder
from .text import TextLineDecoder
from .twitchsense_decoder import TwitchsenseDecoder

__all__ = ["BoardInfo", "CytonDecoder", "DecodeResult", "Decoder", "LinkEvent", "Reply", "SampleBlock",
           "TextLineDecoder", "TwitchsenseDecoder"]
