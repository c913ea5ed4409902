/*
 * Checks the C codec against the test vectors. Input: the line format written by the
 * Python test suite from ../vectors.json (hex fields, "-" for empty):
 *   crc HEX_INPUT CRC
 *   frame KIND WIRE MSG_TYPE PAYLOAD FIELDS...
 *   stream WIRE CRC_ERRORS BAD_FRAMES RESYNCS N_TYPES TYPES...
 * Every frame is built from its fields and compared with WIRE, then WIRE is read back;
 * every stream is read byte by byte and its counters compared. Exit status 0 when all pass.
 *
 *   test_vectors -     reads a raw byte stream from stdin and prints what the frame reader made
 *                      of it: "frames F crc_errors C bad_frames B resyncs R" then one line per
 *                      good frame, "TYPE PAYLOAD_HEX" (for differential tests against Python).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twitchsense_proto.h"

static int failures = 0, checks = 0;

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    while (s[0] && s[1] && n < cap) {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static void expect_bytes(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
    checks++;
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        failures++;
        printf("FAIL %s: got %zu bytes, want %zu:\n  got ", what, got_len, want_len);
        for (size_t i = 0; i < got_len; i++)
            printf("%02x", got[i]);
        printf("\n  want ");
        for (size_t i = 0; i < want_len; i++)
            printf("%02x", want[i]);
        printf("\n");
    }
}

static void expect_int(const char *what, long got, long want)
{
    checks++;
    if (got != want) {
        failures++;
        printf("FAIL %s: got %ld, want %ld\n", what, got, want);
    }
}

/* The next space-separated token of the line at *save (NULL at its end); C99 has no strtok_r. */
static char *next(char **save)
{
    char *s = *save;
    while (*s == ' ' || *s == '\n' || *s == '\r')
        s++;
    if (!*s)
        return NULL;
    char *start = s;
    while (*s && *s != ' ' && *s != '\n' && *s != '\r')
        s++;
    if (*s)
        *s++ = '\0';
    *save = s;
    return start;
}

static long num(char **save)
{
    char *t = next(save);
    return t ? strtol(t, NULL, 0) : -1;
}

static int read_stdin(void)
{
    ts_reader_t r;
    ts_reader_init(&r);
    static char lines[1 << 20];
    size_t used = 0;
    int c;
    while ((c = getchar()) != EOF) {
        uint8_t t;
        const uint8_t *p;
        size_t n;
        if (ts_reader_push(&r, (uint8_t)c, &t, &p, &n) && used + 2 * n + 8 < sizeof lines) {
            used += (size_t)sprintf(lines + used, "%u ", t);
            for (size_t i = 0; i < n; i++)
                used += (size_t)sprintf(lines + used, "%02x", p[i]);
            used += (size_t)sprintf(lines + used, "\n");
        }
    }
    printf("frames %lu crc_errors %lu bad_frames %lu resyncs %lu\n%s", (unsigned long)r.frames,
           (unsigned long)r.crc_errors, (unsigned long)r.bad_frames, (unsigned long)r.resyncs, lines);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "-") == 0)
        return read_stdin();
    if (argc != 2) {
        fprintf(stderr, "usage: %s VECTORS.txt | -\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    static char line[1 << 16];
    static uint8_t want[4096], built[4096], payload[4096];
    while (fgets(line, sizeof line, f)) {
        char *save = line;
        char *tag = next(&save);
        if (!tag)
            continue;
        if (strcmp(tag, "crc") == 0) {
            size_t n = unhex(next(&save), want, sizeof want);
            expect_int("crc check value", ts_crc16(want, n), num(&save));
        } else if (strcmp(tag, "frame") == 0) {
            char kind[32];
            snprintf(kind, sizeof kind, "%s", next(&save));
            size_t wire_len = unhex(next(&save), want, sizeof want);
            uint8_t type = (uint8_t)num(&save);
            size_t plen = unhex(next(&save), payload, sizeof payload);
            size_t n = 0;
            if (strcmp(kind, "samples") == 0) {
                int16_t xyz[TS_MAX_SAMPLES][3];
                uint32_t first = (uint32_t)num(&save), t = (uint32_t)num(&save);
                long count = num(&save);
                for (long i = 0; i < count && i < TS_MAX_SAMPLES; i++)
                    for (int a = 0; a < 3; a++)
                        xyz[i][a] = (int16_t)num(&save);
                n = ts_build_samples(built, first, t, (const int16_t(*)[3])xyz, (uint8_t)count);
            } else if (strcmp(kind, "info") == 0) {
                ts_info_t info;
                char name[TS_MAX_NAME + 1] = {0};
                info.protocol_version = (uint8_t)num(&save);
                info.sensor_type = (uint8_t)num(&save);
                info.range_g = (uint8_t)num(&save);
                info.samples_per_frame = (uint8_t)num(&save);
                info.sample_rate_mhz = (uint32_t)num(&save);
                info.scale_ng_per_lsb = (uint32_t)num(&save);
                info.timestamp_tick_hz = (uint32_t)num(&save);
                unhex(next(&save), info.device_uid, 8);
                for (int i = 0; i < 3; i++)
                    info.firmware[i] = (uint8_t)num(&save);
                unhex(next(&save), (uint8_t *)name, TS_MAX_NAME);
                info.name = name;
                info.protocol_minor = (uint8_t)num(&save);
                n = ts_build_info(built, &info);
            } else if (strcmp(kind, "ack") == 0) {
                long cmd = num(&save);
                n = ts_build_ack(built, (uint8_t)cmd, (uint8_t)num(&save));
            } else if (strcmp(kind, "status") == 0) {
                long up = num(&save), over = num(&save);
                n = ts_build_status(built, (uint32_t)up, (uint32_t)over, (uint8_t)num(&save));
            } else if (strcmp(kind, "pong") == 0) {
                long token = num(&save);
                n = ts_build_pong(built, (uint32_t)token, (uint32_t)num(&save));
            } else if (strcmp(kind, "mark") == 0) {
                long t_us = num(&save);
                n = ts_build_mark(built, (uint32_t)t_us, (uint16_t)num(&save));
            } else if (strcmp(kind, "log") == 0) {
                char text[TS_MAX_PAYLOAD + 1] = {0};
                unhex(next(&save), (uint8_t *)text, TS_MAX_PAYLOAD);
                n = ts_build_log(built, text);
            } else { /* host command: type and payload */
                n = ts_build_command(built, type, payload, plen);
            }
            char what[64];
            snprintf(what, sizeof what, "build %s 0x%02x", kind, type);
            expect_bytes(what, built, n, want, wire_len);
            /* read the wire back */
            ts_reader_t r;
            ts_reader_init(&r);
            uint8_t got_type = 0;
            const uint8_t *got_payload = NULL;
            size_t got_len = 0;
            int frames = 0;
            for (size_t i = 0; i < wire_len; i++)
                frames += ts_reader_push(&r, want[i], &got_type, &got_payload, &got_len);
            snprintf(what, sizeof what, "read %s 0x%02x", kind, type);
            expect_int(what, frames, 1);
            expect_int(what, got_type, type);
            if (frames == 1)
                expect_bytes(what, got_payload, got_len, payload, plen);
        } else if (strcmp(tag, "stream") == 0) {
            char *name = next(&save);
            size_t wire_len = unhex(next(&save), want, sizeof want);
            long crc_errors = num(&save), bad_frames = num(&save), resyncs = num(&save), n_types = num(&save);
            ts_reader_t r;
            ts_reader_init(&r);
            long types[64], got = 0;
            uint8_t t;
            const uint8_t *p;
            size_t plen;
            for (size_t i = 0; i < wire_len; i++)
                if (ts_reader_push(&r, want[i], &t, &p, &plen) && got < 64)
                    types[got++] = t;
            char what[128];
            snprintf(what, sizeof what, "stream %s: good frames", name);
            expect_int(what, got, n_types);
            for (long i = 0; i < n_types && i < got; i++)
                expect_int(what, types[i], num(&save));
            snprintf(what, sizeof what, "stream %s: crc_errors", name);
            expect_int(what, r.crc_errors, crc_errors);
            snprintf(what, sizeof what, "stream %s: bad_frames", name);
            expect_int(what, r.bad_frames, bad_frames);
            snprintf(what, sizeof what, "stream %s: resyncs", name);
            expect_int(what, r.resyncs, resyncs);
        }
    }
    fclose(f);
    printf("%s: %d checks, %d failures\n", failures ? "FAILED" : "ok", checks, failures);
    return failures ? 1 : 0;
}
