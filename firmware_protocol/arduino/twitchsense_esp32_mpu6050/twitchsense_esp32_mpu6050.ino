/*
 * twitchsense reference firmware: ESP32 + MPU6050 (GY-521 breakout), wire protocol v1.1.
 *
 * Wiring: MPU6050 VCC-3V3, GND-GND, SDA-GPIO21, SCL-GPIO22, INT-GPIO4 (data-ready).
 * Marker button ("I felt one"): a push button from GPIO0 to GND, which is the BOOT button
 * of most ESP32 dev boards (so it needs no wiring; set PIN_MARK for another GPIO).
 * Build: Arduino IDE or arduino-cli with the esp32 core (2.x or 3.x); no other library.
 * twitchsense_proto.c/.h are symlinks to ../../c/ (copy them here where symlinks do not work).
 *
 * What it does (see ../../PROTOCOL.md):
 *  - samples on the MPU6050 data-ready interrupt (1 kHz default, digital low-pass 184 Hz:
 *    keep the 21 Hz setting of many example sketches away, it removes most twitch content);
 *  - batches n = rate / 100 samples per SAMPLES frame, timestamped with micros() taken in
 *    the interrupt for the first sample;
 *  - never writes part of a frame: when the TX buffer cannot take a whole frame it drops
 *    it, counts it in STATUS.tx_overflow_frames and still advances the sample index;
 *  - a missed data-ready (loop too slow) ends the batch early and skips the index;
 *  - answers GET_INFO, START, STOP, PING; sends INFO after boot and STATUS every second;
 *  - the marker button, debounced (a press is a level held for MARK_DEBOUNCE_US; its time is
 *    micros() at its first edge, so the debounce does not delay it), sends MARK while
 *    streaming; a MARK waits for TX room instead of being dropped (its time travels in it).
 */
#include <Arduino.h>
#include <Wire.h>

extern "C" {
#include "twitchsense_proto.h"
}

#ifndef IRAM_ATTR
#define IRAM_ATTR
#endif

static const uint32_t BAUD = 115200;
static const int PIN_INT = 4;
static const int PIN_MARK = 0;                 // to GND when pressed (BOOT button on most ESP32 boards)
static const uint32_t MARK_DEBOUNCE_US = 20000;
static const uint8_t MPU = 0x68;

// MPU6050 registers
static const uint8_t REG_SMPLRT_DIV = 0x19, REG_CONFIG = 0x1A, REG_ACCEL_CONFIG = 0x1C, REG_INT_PIN_CFG = 0x37,
                     REG_INT_ENABLE = 0x38, REG_INT_STATUS = 0x3A, REG_ACCEL_XOUT_H = 0x3B, REG_PWR_MGMT_1 = 0x6B,
                     REG_WHO_AM_I = 0x75;

static uint32_t rate_hz = 1000;  // 1000 / (1 + SMPLRT_DIV)
static uint8_t range_g = 4;      // 2, 4, 8 or 16
static uint8_t batch_n = 10;     // rate / 100, 1..40
static bool streaming = false;
static bool sensor_ok = false;

static volatile uint32_t drdy_count = 0;  // data-ready interrupts since boot
static volatile uint32_t drdy_time_us = 0;
static uint32_t handled = 0;              // data-ready events consumed by loop()

static int16_t batch[TS_MAX_SAMPLES][3];
static uint8_t batch_len = 0;
static uint32_t batch_t_us = 0;
static uint32_t sample_index = 0;         // index of the next sample (0 at START)
static uint32_t tx_overflow = 0;
static uint32_t last_status_ms = 0;

static ts_reader_t reader;
static uint8_t frame[TS_MAX_WIRE];

// marker button: debounce state and the presses waiting for TX room
static bool mark_raw = false;        // the pin's last reading (true = pressed)
static bool mark_down = false;       // the debounced state
static uint32_t mark_raw_us = 0;     // when the reading last changed
static uint32_t mark_edge_us = 0;    // first edge of the change being debounced
static uint16_t mark_seq = 0;        // marks since START
static uint32_t mark_queue[8];       // press times not sent yet (a ring)
static uint8_t mark_head = 0, mark_count = 0;

static void IRAM_ATTR on_data_ready()
{
    drdy_time_us = micros();
    drdy_count++;
}

static void mpu_write(uint8_t reg, uint8_t value)
{
    Wire.beginTransmission(MPU);
    Wire.write(reg);
    Wire.write(value);
    Wire.endTransmission();
}

static bool mpu_read(uint8_t reg, uint8_t *out, uint8_t n)
{
    Wire.beginTransmission(MPU);
    Wire.write(reg);
    if (Wire.endTransmission(false) != 0)
        return false;
    if (Wire.requestFrom(MPU, n) != n)
        return false;
    for (uint8_t i = 0; i < n; i++)
        out[i] = Wire.read();
    return true;
}

static uint8_t range_bits(uint8_t g)
{
    switch (g) {
    case 2: return 0;
    case 4: return 1;
    case 8: return 2;
    case 16: return 3;
    default: return 0xFF;
    }
}

static void mpu_configure()
{
    mpu_write(REG_PWR_MGMT_1, 0x01);                            // wake, PLL with X gyro as clock
    mpu_write(REG_CONFIG, 0x01);                                // DLPF 184 Hz, 1 kHz internal rate
    mpu_write(REG_SMPLRT_DIV, (uint8_t)(1000 / rate_hz - 1));
    mpu_write(REG_ACCEL_CONFIG, (uint8_t)(range_bits(range_g) << 3));
    mpu_write(REG_INT_PIN_CFG, 0x10);                           // active high, push-pull, 50 us pulse, clear on any read
    mpu_write(REG_INT_ENABLE, 0x01);                            // data-ready interrupt
    batch_n = (uint8_t)constrain((rate_hz + 50) / 100, 1, TS_MAX_SAMPLES);
}

static uint32_t scale_ng_per_lsb()
{
    return (uint32_t)(((uint64_t)range_g * 1000000000ull + 16384) / 32768);  // 4 g: 122070
}

static void send(size_t n)
{
    if (n == 0)
        return;
    // Control frames are small and rare: wait for room rather than lose an answer.
    while ((size_t)Serial.availableForWrite() < n)
        delay(1);
    Serial.write(frame, n);
}

static void send_info()
{
    ts_info_t info;
    info.protocol_version = TS_PROTOCOL_VERSION;
    info.sensor_type = sensor_ok ? TS_SENSOR_MPU6050 : TS_SENSOR_UNKNOWN;
    info.range_g = range_g;
    info.samples_per_frame = batch_n;
    info.sample_rate_mhz = rate_hz * 1000;
    info.scale_ng_per_lsb = scale_ng_per_lsb();
    info.timestamp_tick_hz = 1000000;
#if defined(ESP32)
    uint64_t mac = ESP.getEfuseMac();
#else
    uint64_t mac = 0;
#endif
    for (int i = 0; i < 8; i++)
        info.device_uid[i] = (uint8_t)(mac >> (8 * i));
    info.firmware[0] = 1;
    info.firmware[1] = 0;
    info.firmware[2] = 0;
    info.name = "esp32-mpu6050";
    info.protocol_minor = TS_PROTOCOL_MINOR;  // 1.1: this board sends MARK
    send(ts_build_info(frame, &info));
}

static void send_log(const char *text)
{
    send(ts_build_log(frame, text));
}

// A SAMPLES frame is the one thing that may be dropped: never block, never write half of it.
static void flush_batch()
{
    if (batch_len == 0)
        return;
    size_t n = ts_build_samples(frame, sample_index, batch_t_us, (const int16_t(*)[3])batch, batch_len);
    if ((size_t)Serial.availableForWrite() >= n)
        Serial.write(frame, n);
    else
        tx_overflow++;
    sample_index += batch_len;  // advance even when dropped: the host counts the loss exactly
    batch_len = 0;
}

// The marker button: called every loop. A change of the pin's level must hold for
// MARK_DEBOUNCE_US; the press time is the first edge after a stable stretch, not the end
// of the debounce. A press shorter than the debounce time is ignored.
static void poll_mark_button()
{
    bool raw = digitalRead(PIN_MARK) == LOW;
    uint32_t now = micros();
    if (raw != mark_raw) {
        if (mark_raw == mark_down && now - mark_raw_us >= MARK_DEBOUNCE_US)
            mark_edge_us = now;  // leaving a stable level: the first edge of a press (or release)
        mark_raw = raw;
        mark_raw_us = now;
    }
    if (raw != mark_down && now - mark_raw_us >= MARK_DEBOUNCE_US) {
        mark_down = raw;
        if (mark_down && streaming && mark_count < sizeof mark_queue / sizeof mark_queue[0]) {
            mark_queue[(mark_head + mark_count) % (sizeof mark_queue / sizeof mark_queue[0])] = mark_edge_us;
            mark_count++;
        }
    }
}

// MARK frames are never dropped: each waits until the TX buffer takes it whole (SAMPLES may
// be dropped meanwhile, as always). Sending late does not move the mark: its time is in it.
static void send_marks()
{
    while (mark_count) {
        size_t n = ts_build_mark(frame, mark_queue[mark_head], mark_seq);
        if ((size_t)Serial.availableForWrite() < n)
            return;
        Serial.write(frame, n);
        mark_seq++;
        mark_head = (uint8_t)((mark_head + 1) % (sizeof mark_queue / sizeof mark_queue[0]));
        mark_count--;
    }
}

static void start_streaming()
{
    batch_len = 0;
    sample_index = 0;
    mark_seq = 0;
    mark_count = 0;
    noInterrupts();
    handled = drdy_count;
    interrupts();
    streaming = true;
}

static void on_command(uint8_t type, const uint8_t *payload, size_t len)
{
    switch (type) {
    case TS_CMD_GET_INFO:
        send_info();
        break;
    case TS_CMD_START: {
        if (len != 0 && len != 4 && len < 5) {
            send(ts_build_ack(frame, type, TS_ACK_BAD_ARGS));
            break;
        }
        uint32_t want_mhz = len >= 4 ? ts_get_u32(payload) : 0;
        uint8_t want_range = len >= 5 ? payload[4] : 0;
        uint32_t want_rate = want_mhz ? want_mhz / 1000 : rate_hz;
        bool rate_ok = want_rate >= 4 && want_rate <= 1000 && 1000 % want_rate == 0 && want_mhz % 1000 == 0;
        bool range_ok = want_range == 0 || range_bits(want_range) != 0xFF;
        if (!sensor_ok || !rate_ok || !range_ok) {
            send(ts_build_ack(frame, type, sensor_ok ? TS_ACK_BAD_ARGS : TS_ACK_BUSY));
            break;
        }
        bool changed = want_rate != rate_hz || (want_range && want_range != range_g);
        rate_hz = want_rate;
        if (want_range)
            range_g = want_range;
        mpu_configure();
        send(ts_build_ack(frame, type, TS_ACK_OK));
        if (changed)
            send_info();  // new settings before the first SAMPLES frame
        start_streaming();
        break;
    }
    case TS_CMD_STOP:
        for (send_marks(); mark_count; send_marks())
            delay(1);  // presses made while streaming go out before the ACK
        streaming = false;
        batch_len = 0;
        send(ts_build_ack(frame, type, TS_ACK_OK));
        break;
    case TS_CMD_PING:
        if (len < 4) {
            send(ts_build_ack(frame, type, TS_ACK_BAD_ARGS));
            break;
        }
        send(ts_build_pong(frame, ts_get_u32(payload), micros()));
        break;
    default:
        if (type >= 0x80)
            send(ts_build_ack(frame, type, TS_ACK_UNSUPPORTED));
        break;  // device-to-host types echoed back: ignore
    }
}

void setup()
{
#if defined(ESP32)
    Serial.setTxBufferSize(1024);
#endif
    Serial.begin(BAUD);
    Wire.begin();
    Wire.setClock(400000);
    ts_reader_init(&reader);
    uint8_t who = 0;
    sensor_ok = mpu_read(REG_WHO_AM_I, &who, 1) && (who == 0x68 || who == 0x70 || who == 0x72);
    if (sensor_ok)
        mpu_configure();
    pinMode(PIN_INT, INPUT);
    pinMode(PIN_MARK, INPUT_PULLUP);
    attachInterrupt(digitalPinToInterrupt(PIN_INT), on_data_ready, RISING);
    send_info();  // unprompted after boot: the host learns the board restarted
    if (!sensor_ok)
        send_log("MPU6050 not found on I2C 0x68: check SDA=21, SCL=22, power");
}

void loop()
{
    // 1. host commands
    while (Serial.available() > 0) {
        uint8_t type;
        const uint8_t *payload;
        size_t len;
        if (ts_reader_push(&reader, (uint8_t)Serial.read(), &type, &payload, &len))
            on_command(type, payload, len);
    }

    // 2. the marker button; marks go out before samples take the TX room
    poll_mark_button();
    send_marks();

    // 3. samples, one per data-ready interrupt
    noInterrupts();
    uint32_t count = drdy_count, t_us = drdy_time_us;
    interrupts();
    if (streaming && count != handled) {
        uint32_t missed = count - handled - 1;  // interrupts we were too slow to read
        handled = count;
        if (missed) {
            flush_batch();              // samples in a frame must be evenly spaced
            sample_index += missed;     // the host sees the gap and counts it
        }
        uint8_t raw[6];
        if (mpu_read(REG_ACCEL_XOUT_H, raw, 6)) {
            if (batch_len == 0)
                batch_t_us = t_us;
            for (int a = 0; a < 3; a++)
                batch[batch_len][a] = (int16_t)((raw[2 * a] << 8) | raw[2 * a + 1]);
            batch_len++;
            if (batch_len >= batch_n)
                flush_batch();
        } else {
            flush_batch();
            sample_index++;  // an I2C error loses this sample, counted like the others
        }
    }

    // 4. STATUS about once a second
    uint32_t now = millis();
    if (now - last_status_ms >= 1000) {
        last_status_ms = now;
        send(ts_build_status(frame, now, tx_overflow, 0));
    }
}
