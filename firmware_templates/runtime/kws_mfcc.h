/* Fixed-point MFCC of one window (docs/frontend.md, steps 1-8). */
#ifndef KWS_MFCC_H
#define KWS_MFCC_H

#include <stdint.h>

#include "kws_fe_tables.h"

/* Scratch memory for one frame; keep it static or in a long-lived struct. */
typedef struct {
    int16_t fft[2 * KWS_FE_FFT_LEN];
    uint32_t power[KWS_FE_FFT_LEN + 1];
    int32_t logmel[KWS_FE_N_MELS];
} kws_mfcc_work_t;

/* MFCCs of x[0..KWS_FE_WINDOW_SIZE-1] into mfcc[0..KWS_FE_N_COEFFS-1], given
 * the window's peak max|x[n]| (step 1; kws_peak finds it). The front end
 * passes it in because it reuses the overlap's peak from the last window. */
void kws_mfcc_frame(const int16_t *x, int32_t peak, int32_t *mfcc, kws_mfcc_work_t *work);

/* max|x[k]| over k < n (0 for n = 0), as an int32: |-32768| = 32768. */
int32_t kws_peak(const int16_t *x, int n);

/* Step 7's fixed-point log: log2(max(e, 1)) in Q10. */
int32_t kws_log2_q10(uint64_t e);

#endif /* KWS_MFCC_H */
