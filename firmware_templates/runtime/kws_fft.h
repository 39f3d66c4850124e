/* Fixed-point real FFT of the front end (see docs/frontend.md, steps 4-5). */
#ifndef KWS_FFT_H
#define KWS_FFT_H

#include <stdint.h>

#include "kws_fe_tables.h"

/* In-place complex DIF FFT of KWS_FE_FFT_LEN points, interleaved (re, im)
 * int16. Every butterfly divides by its radix with rounding, so the result is
 * FFT(z) / M. Frequency f ends at position kws_fe_fft_pos[f]. */
void kws_fft_complex(int16_t *buf);

/* Split the packed complex FFT into real-FFT bins 0..M (scaled by 1/N) and
 * write their power |X[k]|^2 to power[0..M]. */
void kws_fft_power(const int16_t *buf, uint32_t *power);

#endif /* KWS_FFT_H */
