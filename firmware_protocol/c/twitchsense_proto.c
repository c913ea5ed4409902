/* twitchsense wire protocol v1.1: reference codec (see twitchsense_proto.h). */
#include "twitchsense_proto.h"

#include <string.h>

uint16_t ts_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFF;
    while (len--) {
        crc ^= (uint16_t)((uint16_t)*data++ << 8);
        for (int i = 0; i < 8; i++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

size_t ts_cobs_encode(const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t *o = out;
    uint8_t *code_at = o++;
    uint8_t code = 1;
    while (len--) {
        uint8_t b = *in++;
        if (b) {
            *o++ = b;
            code++;
        }
        if (!b || code == 0xFF) {
            *code_at = code;
            code = 1;
            code_at = o;
            if (!b || len) /* canonical: no 0x01 after a final run of 254 */
                o++;
        }
    }
    *code_at = code; /* when the last block was a full 254 run this byte lies past the end */
    return (size_t)(o - out);
}

int ts_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    if (len == 0)
        return -1;
    while (i < len) {
        uint8_t code = in[i++];
        if (code == 0 || i + code - 1 > len)
            return -1;
        for (uint8_t k = 1; k < code; k++) {
            uint8_t b = in[i++];
            if (b == 0 || o >= cap)
                return -1;
            out[o++] = b;
        }
        if (code < 0xFF && i < len) {
            if (o >= cap)
                return -1;
            out[o++] = 0;
        }
    }
    return (int)o;
}

size_t ts_encode_frame(uint8_t msg_type, const uint8_t *payload, size_t payload_len, uint8_t *out)
{
    uint8_t body[TS_MAX_BODY];
    if (payload_len > TS_MAX_PAYLOAD)
        return 0;
    body[0] = msg_type;
    if (payload_len)
        memcpy(body + 1, payload, payload_len);
    uint16_t crc = ts_crc16(body, payload_len + 1);
    body[payload_len + 1] = (uint8_t)(crc & 0xFF);
    body[payload_len + 2] = (uint8_t)(crc >> 8);
    size_t n = ts_cobs_encode(body, payload_len + 3, out);
    out[n++] = 0x00;
    return n;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return p + 4;
}

uint32_t ts_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

size_t ts_build_samples(uint8_t *out, uint32_t first_index, uint32_t t_first_us, const int16_t (*xyz)[3],
                        uint8_t n)
{
    uint8_t payload[9 + 6 * TS_MAX_SAMPLES];
    if (n < 1 || n > TS_MAX_SAMPLES)
        return 0;
    uint8_t *p = put_u32(payload, first_index);
    p = put_u32(p, t_first_us);
    *p++ = n;
    for (uint8_t i = 0; i < n; i++) {
        for (int a = 0; a < 3; a++) {
            uint16_t v = (uint16_t)xyz[i][a];
            *p++ = (uint8_t)v;
            *p++ = (uint8_t)(v >> 8);
        }
    }
    return ts_encode_frame(TS_MSG_SAMPLES, payload, (size_t)(p - payload), out);
}

size_t ts_build_info(uint8_t *out, const ts_info_t *info)
{
    uint8_t payload[28 + TS_MAX_NAME + 1];
    size_t name_len = info->name ? strlen(info->name) : 0;
    if (name_len > TS_MAX_NAME)
        name_len = TS_MAX_NAME;
    while (name_len && ((uint8_t)info->name[name_len] & 0xC0) == 0x80)
        name_len--; /* never cut a UTF-8 character (continuation bytes are 10xxxxxx) */
    payload[0] = info->protocol_version;
    payload[1] = info->sensor_type;
    payload[2] = info->range_g;
    payload[3] = info->samples_per_frame;
    put_u32(payload + 4, info->sample_rate_mhz);
    put_u32(payload + 8, info->scale_ng_per_lsb);
    put_u32(payload + 12, info->timestamp_tick_hz);
    memcpy(payload + 16, info->device_uid, 8);
    memcpy(payload + 24, info->firmware, 3);
    payload[27] = (uint8_t)name_len;
    if (name_len)
        memcpy(payload + 28, info->name, name_len);
    size_t len = 28 + name_len;
    if (info->protocol_minor) /* appended in 1.1: a 1.0 board's INFO ends after the name */
        payload[len++] = info->protocol_minor;
    return ts_encode_frame(TS_MSG_INFO, payload, len, out);
}

size_t ts_build_ack(uint8_t *out, uint8_t cmd_type, uint8_t status)
{
    uint8_t payload[2] = {cmd_type, status};
    return ts_encode_frame(TS_MSG_ACK, payload, 2, out);
}

size_t ts_build_status(uint8_t *out, uint32_t uptime_ms, uint32_t tx_overflow_frames, uint8_t flags)
{
    uint8_t payload[9];
    put_u32(payload, uptime_ms);
    put_u32(payload + 4, tx_overflow_frames);
    payload[8] = flags;
    return ts_encode_frame(TS_MSG_STATUS, payload, 9, out);
}

size_t ts_build_pong(uint8_t *out, uint32_t token, uint32_t device_time_us)
{
    uint8_t payload[8];
    put_u32(payload, token);
    put_u32(payload + 4, device_time_us);
    return ts_encode_frame(TS_MSG_PONG, payload, 8, out);
}

size_t ts_build_mark(uint8_t *out, uint32_t t_us, uint16_t seq)
{
    uint8_t payload[6];
    put_u32(payload, t_us);
    payload[4] = (uint8_t)seq;
    payload[5] = (uint8_t)(seq >> 8);
    return ts_encode_frame(TS_MSG_MARK, payload, 6, out);
}

size_t ts_build_log(uint8_t *out, const char *text)
{
    size_t n = strlen(text);
    if (n > TS_MAX_PAYLOAD) {
        n = TS_MAX_PAYLOAD;
        while (n && ((uint8_t)text[n] & 0xC0) == 0x80)
            n--;
    }
    return ts_encode_frame(TS_MSG_LOG, (const uint8_t *)text, n, out);
}

size_t ts_build_command(uint8_t *out, uint8_t cmd_type, const uint8_t *payload, size_t payload_len)
{
    if (cmd_type < 0x80)
        return 0;
    return ts_encode_frame(cmd_type, payload, payload_len, out);
}

void ts_reader_init(ts_reader_t *r)
{
    memset(r, 0, sizeof *r);
}

int ts_reader_push(ts_reader_t *r, uint8_t byte, uint8_t *msg_type, const uint8_t **payload, size_t *payload_len)
{
    if (byte != 0) {
        if (r->discarding)
            return 0;
        if (r->len >= TS_MAX_WIRE - 1) { /* 256 bytes without a delimiter: oversize */
            r->bad_frames++;
            r->in_error = 1;
            r->discarding = 1;
            r->len = 0;
            return 0;
        }
        r->wire[r->len++] = byte;
        return 0;
    }
    if (r->discarding) {
        r->discarding = 0;
        return 0;
    }
    size_t len = r->len;
    r->len = 0;
    if (len == 0)
        return 0; /* an empty frame: a flush, not an error */
    int n = ts_cobs_decode(r->wire, len, r->body, sizeof r->body);
    if (n < 3) {
        r->bad_frames++;
        r->in_error = 1;
        return 0;
    }
    uint16_t want = (uint16_t)(r->body[n - 2] | (r->body[n - 1] << 8));
    if (ts_crc16(r->body, (size_t)n - 2) != want) {
        r->crc_errors++;
        r->in_error = 1;
        return 0;
    }
    if (r->in_error) {
        r->resyncs++;
        r->in_error = 0;
    }
    r->frames++;
    *msg_type = r->body[0];
    *payload = r->body + 1;
    *payload_len = (size_t)n - 3;
    return 1;
}
