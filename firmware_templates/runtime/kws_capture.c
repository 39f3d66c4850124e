#include "kws_capture.h"

#include <string.h>

uint16_t kws_crc16(const uint8_t *p, size_t n, uint16_t crc)
{
    size_t i;
    int bit;
    for (i = 0; i < n; i++) {
        crc = (uint16_t)(crc ^ (uint16_t)((uint16_t)p[i] << 8));
        for (bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000u) ? (uint16_t)((uint16_t)(crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

static void put16(uint8_t *out, uint16_t v)
{
    out[0] = (uint8_t)(v & 0xFFu);
    out[1] = (uint8_t)(v >> 8);
}

size_t kws_capture_frame(uint16_t sequence, const int16_t *x, uint16_t n, uint8_t *out)
{
    uint16_t i;
    const size_t payload = 4u + 2u * (size_t)n;
    out[0] = KWS_CAPTURE_SYNC0;
    out[1] = KWS_CAPTURE_SYNC1;
    put16(out + 2, sequence);
    put16(out + 4, n);
    for (i = 0; i < n; i++) {
        /* Two's complement bits of the sample, without relying on signed shifts. */
        put16(out + 6 + 2u * i, (uint16_t)x[i]);
    }
    put16(out + 2 + payload, kws_crc16(out + 2, payload, 0xFFFFu));
    return payload + 4u;
}

static size_t put_uint(char *out, uint32_t v)
{
    char digits[10];
    size_t n = 0, i;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    for (i = 0; i < n; i++) {
        out[i] = digits[n - 1 - i];
    }
    return n;
}

static size_t put_str(char *out, const char *s)
{
    const size_t n = strlen(s);
    memcpy(out, s, n);
    return n;
}

size_t kws_capture_header(const kws_capture_t *c, char *out, size_t cap)
{
    size_t n = 0;
    if (cap < KWS_CAPTURE_HEADER_MAX) {
        return 0;
    }
    n += put_str(out + n, "{\"sample_rate\":");
    n += put_uint(out + n, c->sample_rate);
    n += put_str(out + n, ",\"samples_per_packet\":");
    n += put_uint(out + n, KWS_CAPTURE_SAMPLES_PER_PACKET);
    n += put_str(out + n, ",\"column_location\":{\"Microphone\":0},\"protocol\":\"kwsgen-frames-1\"}\r\n");
    return n;
}

void kws_capture_init(kws_capture_t *c, uint32_t sample_rate, kws_capture_write_fn write, void *user)
{
    memset(c, 0, sizeof *c);
    c->write = write;
    c->user = user;
    c->sample_rate = sample_rate;
    c->since_header = sample_rate; /* the first samples send a header at once */
}

static void run_command(kws_capture_t *c)
{
    if (c->command_len == 7u && memcmp(c->command, "connect", 7) == 0) {
        /* A new connection starts a new sequence: the host checks it from 0. */
        c->connected = 1;
        c->sequence = 0;
        c->fill = 0;
    } else if (c->command_len == 10u && memcmp(c->command, "disconnect", 10) == 0) {
        c->connected = 0;
        c->since_header = c->sample_rate;
    }
}

void kws_capture_command(kws_capture_t *c, const uint8_t *bytes, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        const uint8_t b = bytes[i];
        if (b == '\n' || b == '\r') {
            run_command(c);
            c->command_len = 0;
        } else if (c->command_len < sizeof c->command) {
            c->command[c->command_len++] = (char)b;
        } else {
            c->command_len = sizeof c->command; /* too long: never a command; wait for the newline */
        }
    }
}

void kws_capture_push(kws_capture_t *c, const int16_t *x, size_t n)
{
    size_t i;
    if (!c->connected) {
        c->since_header += (uint32_t)n;
        if (c->since_header >= c->sample_rate) {
            char line[KWS_CAPTURE_HEADER_MAX];
            const size_t len = kws_capture_header(c, line, sizeof line);
            c->since_header = 0;
            c->write((const uint8_t *)line, len, c->user);
        }
        return;
    }
    for (i = 0; i < n; i++) {
        c->packet[c->fill++] = x[i];
        if (c->fill == KWS_CAPTURE_SAMPLES_PER_PACKET) {
            const size_t len = kws_capture_frame(c->sequence, c->packet, (uint16_t)c->fill, c->frame);
            c->write(c->frame, len, c->user);
            c->sequence = (uint16_t)(c->sequence + 1u);
            c->fill = 0;
        }
    }
}
