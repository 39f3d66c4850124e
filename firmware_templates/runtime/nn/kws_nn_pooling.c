/* AVERAGE_POOL_2D and MAX_POOL_2D, int8 (TFLite's integer AveragePool / MaxPool).
 * Only window positions inside the image count; the average rounds half away
 * from zero by C's truncating division, as TFLite does. */
#include "kws_nn.h"

static int window(int origin, int k, int size, int *start, int *end)
{
    *start = origin < 0 ? -origin : 0;
    *end = k < size - origin ? k : size - origin;
    return *end > *start;
}

static int8_t clamp(int32_t v, const kws_pool_params_t *p)
{
    v = v < p->act_min ? p->act_min : v;
    return (int8_t)(v > p->act_max ? p->act_max : v);
}

void kws_avg_pool_s8(const kws_pool_params_t *p, const int8_t *input, int8_t *output)
{
    int oy, ox, c, y, x, y0, y1, x0, x1;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            const int iy = oy * p->stride_h - p->pad_h, ix = ox * p->stride_w - p->pad_w;
            window(iy, p->k_h, p->in_h, &y0, &y1);
            window(ix, p->k_w, p->in_w, &x0, &x1);
            for (c = 0; c < p->channels; c++) {
                int32_t acc = 0, count = 0;
                for (y = y0; y < y1; y++) {
                    for (x = x0; x < x1; x++) {
                        acc += input[((int32_t)(iy + y) * p->in_w + (ix + x)) * p->channels + c];
                        count++;
                    }
                }
                if (count > 0) {
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                }
                *output++ = clamp(acc, p);
            }
        }
    }
}

void kws_max_pool_s8(const kws_pool_params_t *p, const int8_t *input, int8_t *output)
{
    int oy, ox, c, y, x, y0, y1, x0, x1;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            const int iy = oy * p->stride_h - p->pad_h, ix = ox * p->stride_w - p->pad_w;
            window(iy, p->k_h, p->in_h, &y0, &y1);
            window(ix, p->k_w, p->in_w, &x0, &x1);
            for (c = 0; c < p->channels; c++) {
                int32_t best = -128;
                for (y = y0; y < y1; y++) {
                    for (x = x0; x < x1; x++) {
                        const int32_t v = input[((int32_t)(iy + y) * p->in_w + (ix + x)) * p->channels + c];
                        best = v > best ? v : best;
                    }
                }
                *output++ = clamp(best, p);
            }
        }
    }
}
