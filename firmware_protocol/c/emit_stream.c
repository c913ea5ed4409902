/*
 * Writes a deterministic device-to-host byte stream to stdout, as a board running the
 * reference codec would send it; the Python decoder must read it back exactly.
 *
 *   emit_stream [FRAMES [REBOOT_AT]]     (defaults: 3000 frames, no reboot)
 *
 * 1000 Hz, 10 samples per frame, +/-4 g (122070 ng/LSB); the device clock starts
 * 7 s before its 32-bit wrap. Frame k carries samples 10k..10k+9 at t = T0 + 10000k us;
 * frames with k % 97 == 50 are "dropped for lack of TX room" and counted in STATUS,
 * which is sent (with a PONG, token k) before every frame with k % 100 == 0.
 * Before every frame with k % 700 == 350 the marker button is pressed 5 ms into that
 * frame's span: a MARK (v1.1) with t = the frame's t + 5000 us and seq from 0 (again
 * after a reboot); the first, at 3.505 s, comes before the clock wraps, the next after.
 * With REBOOT_AT > 0 the board restarts before that frame: INFO, then STATUS with a
 * small uptime, then samples from index 0 and a clock from 0.
 * Sample i: x = high half of i * 2654435761 (mod 2^32), y = i % 512 - 256,
 * z = 16383 + i % 3 (all int16).
 */
#include <stdio.h>
#include <stdlib.h>

#include "twitchsense_proto.h"

static void put(const uint8_t *frame, size_t n)
{
    fwrite(frame, 1, n, stdout);
}

static void sample(uint32_t i, int16_t out[3])
{
    out[0] = (int16_t)(uint16_t)((uint32_t)(i * 2654435761u) >> 16);
    out[1] = (int16_t)((int32_t)(i % 512u) - 256);
    out[2] = (int16_t)(16383 + (int32_t)(i % 3u));
}

int main(int argc, char **argv)
{
    long frames = argc > 1 ? strtol(argv[1], NULL, 10) : 3000;
    long reboot_at = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    const uint32_t t0 = 0xFFFFFFFFu - 7000000u + 1u;
    ts_info_t info = {TS_PROTOCOL_VERSION, TS_SENSOR_MPU6050, 4, 10, 1000000, 122070, 1000000,
                      {1, 2, 3, 4, 5, 6, 7, 8}, {1, 2, 3}, "c-emitter", TS_PROTOCOL_MINOR};
    uint8_t frame[TS_MAX_WIRE];
    uint32_t overflow = 0, base = 0, clock0 = t0, uptime0 = 1000;
    uint16_t mark_seq = 0;
    put(frame, ts_build_log(frame, "emit_stream: reference codec"));
    put(frame, ts_build_info(frame, &info));
    put(frame, ts_build_ack(frame, TS_CMD_START, TS_ACK_OK));
    for (long k = 0; k < frames; k++) {
        if (reboot_at > 0 && k == reboot_at) {
            base = (uint32_t)k;
            clock0 = 0;
            uptime0 = 5;
            overflow = 0;
            mark_seq = 0;
            put(frame, ts_build_info(frame, &info));
            put(frame, ts_build_status(frame, uptime0, overflow, 0));
        }
        uint32_t j = (uint32_t)k - base; /* frames since START or boot */
        if (k % 100 == 0) {
            put(frame, ts_build_status(frame, uptime0 + 10u * j, overflow, 0));
            put(frame, ts_build_pong(frame, (uint32_t)k, clock0 + 10000u * j));
        }
        if (k % 700 == 350)
            put(frame, ts_build_mark(frame, clock0 + 10000u * j + 5000u, mark_seq++));
        if (k % 97 == 50) {
            overflow++;
            continue;
        }
        int16_t xyz[10][3];
        for (uint32_t s = 0; s < 10; s++)
            sample(10u * j + s, xyz[s]);
        put(frame, ts_build_samples(frame, 10u * j, clock0 + 10000u * j, (const int16_t(*)[3])xyz, 10));
    }
    return ferror(stdout) ? 1 : 0;
}
