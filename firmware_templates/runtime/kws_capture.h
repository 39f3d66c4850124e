/* Data capture: the microphone's samples streamed to a host in checked frames.
 *
 * The protocol follows SensiML's simple streaming interface: until the host
 * sends "connect", the device repeats a one-line JSON configuration header
 * (sample rate, samples per packet) once per second of audio; after it, the
 * device sends frames until "disconnect". A frame is
 *
 *     0xA5 0x5A | sequence (u16 LE) | n samples (u16 LE) | n int16 LE | CRC-16 (u16 LE)
 *
 * with CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF) over the
 * sequence, the count and the samples. The sequence number counts frames from
 * connect, so the host sees every lost frame; the CRC catches corrupted ones. */
#ifndef KWS_CAPTURE_H
#define KWS_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#define KWS_CAPTURE_SYNC0 0xA5u
#define KWS_CAPTURE_SYNC1 0x5Au
#define KWS_CAPTURE_SAMPLES_PER_PACKET 240u /* 15 ms at 16 kHz */
#define KWS_CAPTURE_FRAME_OVERHEAD 8u
#define KWS_CAPTURE_FRAME_MAX (KWS_CAPTURE_FRAME_OVERHEAD + 2u * KWS_CAPTURE_SAMPLES_PER_PACKET)
#define KWS_CAPTURE_HEADER_MAX 160u

typedef void (*kws_capture_write_fn)(const uint8_t *bytes, size_t n, void *user);

typedef struct {
    kws_capture_write_fn write;
    void *user;
    uint32_t sample_rate;
    uint32_t since_header; /* samples since the last header while disconnected */
    uint16_t sequence;
    uint16_t fill;
    uint8_t connected;
    uint8_t command_len;
    char command[16];
    int16_t packet[KWS_CAPTURE_SAMPLES_PER_PACKET];
    uint8_t frame[KWS_CAPTURE_FRAME_MAX];
} kws_capture_t;

void kws_capture_init(kws_capture_t *c, uint32_t sample_rate, kws_capture_write_fn write, void *user);

/* Bytes from the host: "connect" or "disconnect", each ending in a newline. */
void kws_capture_command(kws_capture_t *c, const uint8_t *bytes, size_t n);

/* Microphone samples, any count: headers while disconnected, frames while connected. */
void kws_capture_push(kws_capture_t *c, const int16_t *x, size_t n);

/* The configuration header line; returns its length. */
size_t kws_capture_header(const kws_capture_t *c, char *out, size_t cap);

/* Encodes one frame into out (KWS_CAPTURE_FRAME_MAX bytes); returns its length. */
size_t kws_capture_frame(uint16_t sequence, const int16_t *x, uint16_t n, uint8_t *out);

uint16_t kws_crc16(const uint8_t *p, size_t n, uint16_t crc);

#endif
