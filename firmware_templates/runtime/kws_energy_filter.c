#include "kws_energy_filter.h"

void kws_energy_filter_init(kws_energy_filter_t *f, int enabled, int32_t threshold, uint16_t delay, uint16_t backoff)
{
    f->threshold = threshold;
    f->delay = delay;
    f->backoff = backoff;
    f->enabled = (uint8_t)(enabled != 0);
    kws_energy_filter_reset(f);
}

void kws_energy_filter_reset(kws_energy_filter_t *f)
{
    f->active = 0;
    f->wait = 0;
    f->left = 0;
}

int kws_energy_filter_step(kws_energy_filter_t *f, int32_t peak)
{
    if (!f->enabled) {
        return 1;
    }
    if (!f->active) {
        if (peak <= f->threshold) {
            return 0;
        }
        f->active = 1;
        f->wait = f->delay;
        f->left = (uint16_t)(f->backoff + 1u);
    }
    if (f->wait > 0) {
        f->wait--;
        return 0;
    }
    if (--f->left == 0) {
        f->active = 0;
    }
    return 1;
}
