/* Segment Energy Threshold Filter (docs/frontend.md, "Energy filter").
 *
 * Idle: a hop whose newest window holds any |x| > threshold triggers it.
 * Triggered at hop t, it asks for classifications at hops t + delay, ...,
 * t + delay + backoff, and ignores the energy until the last of them. */
#ifndef KWS_ENERGY_FILTER_H
#define KWS_ENERGY_FILTER_H

#include <stdint.h>

typedef struct {
    int32_t threshold;
    uint16_t delay;
    uint16_t backoff;
    uint8_t enabled; /* 0: ask for a classification every hop */
    uint8_t active;
    uint16_t wait;
    uint16_t left;
} kws_energy_filter_t;

void kws_energy_filter_init(kws_energy_filter_t *f, int enabled, int32_t threshold, uint16_t delay, uint16_t backoff);
void kws_energy_filter_reset(kws_energy_filter_t *f);

/* One hop. peak is max|x| of the newest window. Returns 1 to classify now. */
int kws_energy_filter_step(kws_energy_filter_t *f, int32_t peak);

#endif /* KWS_ENERGY_FILTER_H */
