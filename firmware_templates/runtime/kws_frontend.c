#include "kws_frontend.h"

#include <string.h>

void kws_frontend_init(kws_frontend_t *fe, const kws_minmax_t *minmax)
{
    fe->minmax = minmax;
    kws_energy_filter_init(&fe->filter, KWS_FE_FILTER_ENABLED, KWS_FE_FILTER_THRESHOLD, KWS_FE_FILTER_DELAY,
                           KWS_FE_FILTER_BACKOFF);
    kws_frontend_reset(fe);
}

void kws_frontend_reset(kws_frontend_t *fe)
{
    fe->fill = 0;
    fe->kept_peak = -1;
    fe->head = 0;
    fe->frames = 0;
    fe->dropped = 0;
    memset(fe->cascade, 0, sizeof(fe->cascade));
    kws_energy_filter_reset(&fe->filter);
}

static void push_cascade(kws_frontend_t *fe, const int8_t *features)
{
    /* The row after the newest is the oldest: overwrite it and advance. */
    memcpy(fe->cascade[fe->head], features, KWS_FE_N_COEFFS);
    fe->head = (uint16_t)((fe->head + 1u) % KWS_FE_CASCADE_LEN);
}

/* Step 1's peak. When windows overlap by at most a hop, the window's first
 * W - H samples are the last window's [H, W), whose peak was found then: only
 * the rest is searched, as [W - H, H) and [H, W), the latter kept for next time. */
static int32_t window_peak(kws_frontend_t *fe)
{
#if 2 * KWS_FE_HOP_SIZE >= KWS_FE_WINDOW_SIZE
    const int kept = KWS_FE_WINDOW_SIZE - KWS_FE_HOP_SIZE;
    const int32_t head = fe->kept_peak >= 0 ? fe->kept_peak : kws_peak(fe->samples, kept);
    const int32_t middle = kws_peak(fe->samples + kept, KWS_FE_HOP_SIZE - kept);
    const int32_t tail = kws_peak(fe->samples + KWS_FE_HOP_SIZE, kept);
    int32_t peak = head > middle ? head : middle;
    fe->kept_peak = tail;
    return peak > tail ? peak : tail;
#else
    return kws_peak(fe->samples, KWS_FE_WINDOW_SIZE);
#endif
}

static void finish_window(kws_frontend_t *fe, kws_fe_hop_t *hop)
{
    int want;
    hop->produced = 1;
    hop->frame = fe->frames;
    hop->peak = window_peak(fe);
    kws_mfcc_frame(fe->samples, hop->peak, hop->mfcc, &fe->work);
    if (fe->minmax != NULL) {
        kws_scale_minmax(hop->mfcc, fe->minmax, hop->features);
        push_cascade(fe, hop->features);
    } else {
        memset(hop->features, 0, sizeof(hop->features));
    }
    fe->frames++;
    hop->cascade_ready = (uint8_t)(fe->minmax != NULL && fe->frames >= KWS_FE_CASCADE_LEN);
    want = kws_energy_filter_step(&fe->filter, hop->peak);
    hop->classify = (uint8_t)(want && hop->cascade_ready);
    hop->dropped = (uint8_t)(want && !hop->cascade_ready);
    fe->dropped += hop->dropped;
    /* Keep the overlap for the next window. */
    memmove(fe->samples, fe->samples + KWS_FE_HOP_SIZE,
            sizeof(int16_t) * (KWS_FE_WINDOW_SIZE - KWS_FE_HOP_SIZE));
    fe->fill = KWS_FE_WINDOW_SIZE - KWS_FE_HOP_SIZE;
}

size_t kws_frontend_process(kws_frontend_t *fe, const int16_t *x, size_t n, kws_fe_hop_t *hop)
{
    size_t take = (size_t)(KWS_FE_WINDOW_SIZE - fe->fill);
    hop->produced = 0;
    if (take > n) {
        take = n;
    }
    memcpy(fe->samples + fe->fill, x, take * sizeof(int16_t));
    fe->fill = (uint16_t)(fe->fill + take);
    if (fe->fill == KWS_FE_WINDOW_SIZE) {
        finish_window(fe, hop);
    }
    return take;
}

void kws_frontend_cascade(const kws_frontend_t *fe, int8_t *out)
{
    const size_t first = (size_t)(KWS_FE_CASCADE_LEN - fe->head) * KWS_FE_N_COEFFS;
    memcpy(out, fe->cascade[fe->head], first);
    memcpy(out + first, fe->cascade[0], (size_t)fe->head * KWS_FE_N_COEFFS);
}
