/* Declarations of the generated front-end tables (kws_fe_tables.c). */
#ifndef KWS_FE_TABLES_H
#define KWS_FE_TABLES_H

#include <stdint.h>

#include "kws_fe_config.h"

#if KWS_FE_FFT_LEN <= 256
typedef uint8_t kws_fe_pos_t;
#else
typedef uint16_t kws_fe_pos_t;
#endif

extern const int16_t kws_fe_window[KWS_FE_WINDOW_SIZE];
extern const int16_t kws_fe_fft_twiddle[2 * KWS_FE_FFT_LEN];
extern const kws_fe_pos_t kws_fe_fft_pos[KWS_FE_FFT_LEN];
extern const int16_t kws_fe_split_twiddle[KWS_FE_FFT_LEN + 2];
extern const uint16_t kws_fe_mel_start[KWS_FE_N_MELS];
extern const uint16_t kws_fe_mel_count[KWS_FE_N_MELS];
extern const uint16_t kws_fe_mel_offset[KWS_FE_N_MELS];
extern const uint16_t kws_fe_mel_weights[KWS_FE_MEL_WEIGHTS_LEN];
extern const int32_t kws_fe_log2_table[65];
extern const int16_t kws_fe_dct[KWS_FE_N_COEFFS * KWS_FE_N_MELS];

#endif /* KWS_FE_TABLES_H */
