/*
 * twitchsense wire protocol v1.1: reference codec in portable C99 (no allocation, no libc
 * beyond <stdint.h>/<stddef.h>/<string.h>). Frames are COBS(body) + 0x00 with
 * body = msg_type:u8 + payload + crc16:u16le; see ../PROTOCOL.md.
 */
#ifndef TWITCHSENSE_PROTO_H
#define TWITCHSENSE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TS_PROTOCOL_VERSION 1
#define TS_PROTOCOL_MINOR 1  /* 1.1: MARK and INFO's protocol_minor */
#define TS_MAX_BODY 254      /* msg_type + payload + crc */
#define TS_MAX_PAYLOAD 251
#define TS_MAX_WIRE 256      /* COBS bytes (at most 255) + the 0x00 delimiter */
#define TS_MAX_SAMPLES 40
#define TS_MAX_NAME 32

enum {
    TS_MSG_SAMPLES = 0x01, TS_MSG_INFO = 0x02, TS_MSG_ACK = 0x03, TS_MSG_STATUS = 0x04,
    TS_MSG_PONG = 0x05, TS_MSG_MARK = 0x06, TS_MSG_LOG = 0x7F,
    TS_CMD_GET_INFO = 0x80, TS_CMD_START = 0x81, TS_CMD_STOP = 0x82, TS_CMD_PING = 0x83
};

enum { TS_ACK_OK = 0, TS_ACK_BAD_ARGS = 1, TS_ACK_UNSUPPORTED = 2, TS_ACK_BUSY = 3 };

enum { TS_SENSOR_UNKNOWN = 0, TS_SENSOR_MPU6050 = 1, TS_SENSOR_LSM6DS3 = 2, TS_SENSOR_LSM9DS1 = 3,
       TS_SENSOR_LIS3DH = 4, TS_SENSOR_BMI270 = 5 };

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0 ("123456789" -> 0x29B1). */
uint16_t ts_crc16(const uint8_t *data, size_t len);

/* COBS encode; out must hold len + len / 254 + 2 bytes. Returns the encoded length (no delimiter). */
size_t ts_cobs_encode(const uint8_t *in, size_t len, uint8_t *out);

/* COBS decode (no delimiter in the input); returns the decoded length, or -1 when malformed or longer than cap. */
int ts_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* A complete wire frame into out (TS_MAX_WIRE bytes); returns its length, 0 when the payload is too long. */
size_t ts_encode_frame(uint8_t msg_type, const uint8_t *payload, size_t payload_len, uint8_t *out);

typedef struct {
    uint8_t protocol_version;   /* TS_PROTOCOL_VERSION */
    uint8_t sensor_type;        /* TS_SENSOR_* */
    uint8_t range_g;            /* full scale, +/- g */
    uint8_t samples_per_frame;  /* max n per SAMPLES frame */
    uint32_t sample_rate_mhz;   /* nominal rate in milli-Hz */
    uint32_t scale_ng_per_lsb;  /* nano-g per count */
    uint32_t timestamp_tick_hz; /* 1000000 for microseconds */
    uint8_t device_uid[8];
    uint8_t firmware[3];        /* major, minor, patch */
    const char *name;           /* UTF-8, at most 32 bytes used */
    uint8_t protocol_minor;     /* TS_PROTOCOL_MINOR; 0 (a 1.0 board) sends no protocol_minor byte */
} ts_info_t;

/* Device -> host frame builders: each writes a complete wire frame into out (TS_MAX_WIRE bytes)
 * and returns its length (0 on bad arguments). */
size_t ts_build_samples(uint8_t *out, uint32_t first_index, uint32_t t_first_us, const int16_t (*xyz)[3],
                        uint8_t n);
size_t ts_build_info(uint8_t *out, const ts_info_t *info);
size_t ts_build_ack(uint8_t *out, uint8_t cmd_type, uint8_t status);
size_t ts_build_status(uint8_t *out, uint32_t uptime_ms, uint32_t tx_overflow_frames, uint8_t flags);
size_t ts_build_pong(uint8_t *out, uint32_t token, uint32_t device_time_us);
size_t ts_build_log(uint8_t *out, const char *text);
/* MARK (v1.1): the marker button pressed at device clock t_us (the clock of SAMPLES' t_first_us);
 * seq counts marks since START (0 first). */
size_t ts_build_mark(uint8_t *out, uint32_t t_us, uint16_t seq);
/* Host -> device commands (GET_INFO, START, STOP, PING). */
size_t ts_build_command(uint8_t *out, uint8_t cmd_type, const uint8_t *payload, size_t payload_len);

/* Incremental frame reader: push bytes one at a time. Counters match the Python FrameReader. */
typedef struct {
    uint8_t wire[TS_MAX_WIRE];
    size_t len;
    uint8_t discarding;    /* an oversize run: drop bytes until the next 0x00 */
    uint8_t in_error;      /* the last frame was bad: the next good one is a resync */
    uint8_t body[TS_MAX_BODY];
    uint32_t frames, crc_errors, bad_frames, resyncs;
} ts_reader_t;

void ts_reader_init(ts_reader_t *r);

/* Returns 1 when byte completes a good frame: *msg_type is set, the payload is
 * *payload (inside r->body) of *payload_len bytes, valid until the next push. */
int ts_reader_push(ts_reader_t *r, uint8_t byte, uint8_t *msg_type, const uint8_t **payload, size_t *payload_len);

/* Little-endian readers for payload fields. */
uint32_t ts_get_u32(const uint8_t *p);

#ifdef __cplusplus
}
#endif

#endif /* TWITCHSENSE_PROTO_H */
