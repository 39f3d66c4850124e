/* Min/Max scaling of MFCCs to int8 (docs/frontend.md, step 9). */
#ifndef KWS_SCALE_H
#define KWS_SCALE_H

#include <stdint.h>

#include "kws_fe_config.h"

/* Per-coefficient bounds from the training data; max > min, max - min < 2^23. */
typedef struct {
    int32_t min[KWS_FE_N_COEFFS];
    int32_t max[KWS_FE_N_COEFFS];
} kws_minmax_t;

/* out[i] = round(255 * (clamp(c[i]) - min) / (max - min)) - 128. */
void kws_scale_minmax(const int32_t *mfcc, const kws_minmax_t *mm, int8_t *out);

#endif /* KWS_SCALE_H */
