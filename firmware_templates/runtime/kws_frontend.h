/* Streaming front end: samples in, in any chunk size; one feature vector per
 * hop out, with the cascade and the energy filter's decision.
 *
 *     kws_frontend_t fe;                       // ~4.4 KB at the defaults
 *     kws_frontend_init(&fe, &minmax);
 *     while (n > 0) {
 *         kws_fe_hop_t hop;
 *         size_t used = kws_frontend_process(&fe, x, n, &hop);
 *         x += used; n -= used;
 *         if (hop.produced && hop.classify) {
 *             kws_frontend_cascade(&fe, model_input);   // oldest window first
 *             ...
 *         }
 *     }
 */
#ifndef KWS_FRONTEND_H
#define KWS_FRONTEND_H

#include <stdint.h>
#include <string.h> /* size_t */

#include "kws_energy_filter.h"
#include "kws_fe_config.h"
#include "kws_mfcc.h"
#include "kws_scale.h"

typedef struct {
    int16_t samples[KWS_FE_WINDOW_SIZE]; /* newest window; the last `fill` are valid */
    uint16_t fill;
    int32_t kept_peak; /* peak of the samples kept for the next window; -1: not known */
    uint16_t head; /* cascade row of the oldest window */
    uint32_t frames; /* windows produced since reset */
    uint32_t dropped; /* filter requests made before the cascade was full */
    int8_t cascade[KWS_FE_CASCADE_LEN][KWS_FE_N_COEFFS];
    const kws_minmax_t *minmax; /* NULL: MFCC only, no scaling or cascade */
    kws_energy_filter_t filter;
    kws_mfcc_work_t work;
} kws_frontend_t;

typedef struct {
    uint8_t produced; /* 1: a window completed during this call; the rest is valid */
    uint8_t cascade_ready; /* the cascade holds KWS_FE_CASCADE_LEN windows */
    uint8_t classify; /* the filter asked and the cascade is full */
    uint8_t dropped; /* the filter asked but the cascade was not full yet */
    uint32_t frame; /* index of this window since reset (0-based) */
    int32_t peak; /* max|x| over the window */
    int32_t mfcc[KWS_FE_N_COEFFS];
    int8_t features[KWS_FE_N_COEFFS]; /* scaled; zero when minmax is NULL */
} kws_fe_hop_t;

/* Filter settings come from kws_fe_config.h; change fe->filter after init to override. */
void kws_frontend_init(kws_frontend_t *fe, const kws_minmax_t *minmax);
void kws_frontend_reset(kws_frontend_t *fe);

/* Consume samples until one window completes or x runs out. Returns the number
 * of samples used; hop->produced says whether a window completed. Call again
 * with the rest. */
size_t kws_frontend_process(kws_frontend_t *fe, const int16_t *x, size_t n, kws_fe_hop_t *hop);

/* Copy the cascade, oldest window first, as KWS_FE_CASCADE_LEN x KWS_FE_N_COEFFS int8. */
void kws_frontend_cascade(const kws_frontend_t *fe, int8_t *out);

#endif /* KWS_FRONTEND_H */
