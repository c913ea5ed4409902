"""Text-line decoder: separators, header lines, declared units and time bases, every split point."""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.acquisition.protocol.text import PRESETS, TextLineDecoder

from decoding import ESP32_TEXT, NANO33, decode


def test_nano33_example_output():
    dec = TextLineDecoder.preset("nano33-ble")
    s, events, _ = decode(dec, NANO33)
    np.testing.assert_allclose(s.acc, [[0.01, -0.02, 0.98], [0.03, -0.04, 1.01], [-0.5, 0.25, 0.75]])
    np.testing.assert_allclose(s.t, np.arange(3) / 119.0)
    assert s.index.tolist() == [0, 1, 2]
    assert dec.stats["header_lines"] == 4 and dec.stats["bad_lines"] == 0
    assert [e.kind for e in events] == ["info"]
    assert dec.info.sample_rate_hz == 119.0 and dec.info.sensor == "LSM9DS1"


def test_esp32_sketch_free_text_in_m_s2_with_lowpass_warning():
    dec = TextLineDecoder.preset("esp32-mpu6050", rate_hz=100.0)
    s, events, _ = decode(dec, ESP32_TEXT)
    np.testing.assert_allclose(s.acc, np.array([[0.98, -1.96, 9.81], [0.0, 0.0, 19.61]]) / 9.80665)
    assert dec.stats["ignored_lines"] == 6  # 4 banner lines, rotation, temperature
    assert [e.kind for e in events] == ["info", "warning"] and "21 Hz" in events[1].detail


def test_microbit_makecode_key_value_lines_in_milli_g():
    dec = TextLineDecoder.preset("microbit-makecode", rate_hz=50.0)
    stream = b"x:12\r\ny:-40\r\nz:-1024\r\nx:1\r\ny:2\r\nz:3\r\nx:5\r\n"
    for cut in range(len(stream) + 1):
        s, _, _ = decode(TextLineDecoder.preset("microbit-makecode", rate_hz=50.0), stream[:cut], stream[cut:])
        np.testing.assert_allclose(s.acc, [[0.012, -0.04, -1.024], [0.001, 0.002, 0.003]])
    s, _, _ = decode(dec, b"x:1,y:2,z:3\n")
    np.testing.assert_allclose(s.acc, [[0.001, 0.002, 0.003]])


def test_microbit_micropython_tuples():
    dec = TextLineDecoder.preset("microbit-micropython", rate_hz=50.0)
    s, _, _ = decode(dec, b"MicroPython v1.18\n(-12, 40, -1020)\n(0, 0, -1000)\n")
    np.testing.assert_allclose(s.acc, [[-0.012, 0.04, -1.02], [0, 0, -1.0]])


def test_time_column_in_ms_and_semicolons():
    dec = TextLineDecoder(separator=";", columns=(1, 2, 3), time_column=0, time_unit="ms", units="g")
    s, events, _ = decode(dec, b"time;x;y;z\n1000;0;0;1\n1010;0;0;1\n1010;0;0;1\n1030;0.5;0;1\n")
    np.testing.assert_allclose(s.t, [0.0, 0.01, 0.03])
    assert [e.kind for e in events] == ["info", "bad_frame"] and "did not increase" in events[1].detail


def test_time_column_micros_wrap():
    dec = TextLineDecoder(separator=",", columns=(1, 2, 3), time_column=0, time_unit="us")
    s, _, _ = decode(dec, f"{2**32 - 5000},0,0,1\n{2**32 - 1},0,0,1\n4999,0,0,1\n".encode())
    np.testing.assert_allclose(s.t, [0.0, 0.004999, 0.009999])


def test_bad_lines_after_the_header_are_reported_not_raised():
    dec = TextLineDecoder(separator=",", rate_hz=100.0)
    s, events, _ = decode(dec, b"x,y,z\n0,0,1\n0,zz,1\n0,0\n\xff\xfe\n0,0,nan\n1,1,1\n")
    assert s.index.tolist() == [0, 1]
    assert dec.stats["bad_lines"] == 4
    assert [(e.kind, e.count) for e in events] == [("info", 1), ("bad_frame", 4)]


def test_overlong_line_is_dropped():
    dec = TextLineDecoder(separator=",", rate_hz=100.0)
    s, events, _ = decode(dec, b"0,0,1\n", b"1" * 5000, b"2" * 10, b"\n0,0,2\n")
    np.testing.assert_allclose(s.acc[:, 2], [1, 2])
    assert dec.stats["bad_lines"] == 1


@pytest.mark.parametrize("kwargs, msg", [
    (dict(separator=","), "exactly one time base: its sample rate"),
    (dict(separator=",", rate_hz=100, time_column=0), "exactly one time base"),
    (dict(separator="|", rate_hz=100), "separator must be one of"),
    (dict(separator=",", rate_hz=100, units="furlongs"), "units must be one of"),
    (dict(separator=",", rate_hz=-1), "rate_hz must be positive"),
])
def test_options_are_validated(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        TextLineDecoder(**kwargs)


def test_options_errors_reach_the_user_as_one_line():
    from twitchsense.errors import TwitchsenseError
    with pytest.raises(TwitchsenseError, match="sample rate"):
        TextLineDecoder(units="g")


def test_wrong_separator_is_reported_not_silent():
    dec = TextLineDecoder(separator=",", rate_hz=100.0)
    s, events, _ = decode(dec, b"0.1\t0.2\t0.98\r\n" * 30)
    assert len(s) == 0
    warnings = [e.detail for e in events if e.kind == "warning"]
    assert len(warnings) == 1 and "separator ','" in warnings[0] and "contain: tab" in warnings[0]


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown text preset 'uno'"):
        TextLineDecoder.preset("uno")
    assert set(PRESETS) >= {"nano33-ble", "nano33-iot", "esp32-mpu6050", "microbit-makecode", "microbit-micropython"}


def test_reset_continues_the_time_line():
    dec = TextLineDecoder(separator=",", rate_hz=10.0)
    a, _, _ = decode(dec, b"0,0,1\n0,0,1\n0,0")
    dec.reset()
    b, _, _ = decode(dec, b",5\n0,0,2\n")  # the partial line was forgotten: ",5" is a header-like fragment
    assert a.index.tolist() == [0, 1] and b.index.tolist() == [2]
    np.testing.assert_allclose(b.t, [0.2])


def test_a_stream_joined_mid_line_gives_no_sample_of_a_lines_tail():
    """After a reset (a port opened on a board that streams, bytes dropped) the bytes up to the first line
    end may be the tail of a line: ``1\\t0.0000\\t0.8192`` of ``-0.4041\\t0.0000\\t0.8192`` parses, wrongly."""
    dec = TextLineDecoder(separator="tab", rate_hz=100.0)
    dec.reset()
    got, _, _ = decode(dec, b"1\t0.0000\t0.8192\r\n-0.4040\t0.0000\t0.8192\r\n")
    np.testing.assert_allclose(got.acc, [[-0.404, 0.0, 0.8192]])
    assert dec.stats["resyncs"] == 1
    fresh, _, _ = decode(TextLineDecoder(separator="tab", rate_hz=100.0), b"1\t0\t0\n2\t0\t0\n")
    assert fresh.acc[:, 0].tolist() == [1.0, 2.0]  # a decoder made for a stream reads it from its start
