/* MEAN over height and width, int8 (TFLite Micro's QuantizedMeanOrSum).
 *
 * The zero-point-free sum of each channel is rescaled by one multiplier and
 * shift that already hold input_scale / output_scale / count: the generator
 * folds 1/count into the multiplier with TFLite's integer arithmetic, so
 * nothing here divides. TFLite Micro takes this path whatever keep_dims is,
 * and even when the input and output quantisation are the same.
 *
 * The DSP path sums four channels at once with SXTAB16 into 16-bit lanes,
 * moving them into 32-bit sums every 256 pixels, before a lane could overflow. */
#include "kws_nn.h"
#include "kws_nn_dsp.h"
#include "kws_nn_requant.h"

static void sum_channel(const kws_mean_params_t *p, const int8_t *input, int c, int32_t *sum)
{
    int i;
    *sum = 0;
    for (i = 0; i < p->spatial; i++) {
        *sum += input[(int32_t)i * p->channels + c];
    }
}

void kws_mean_s8(const kws_mean_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t zero_sum = (int32_t)p->input_zero_point * p->spatial;
    const int8_t shift = (int8_t)p->shift;
    const int32_t unused_rounding = 0;
    const kws_requant_params_t rq = {&p->multiplier, &shift, &unused_rounding, p->output_zero_point, -128, 127};
    int32_t sums[4];
    int c = 0;
#if KWS_USE_DSP
    for (; c + 3 < p->channels; c += 4) {
        const int8_t *x = input + c;
        int32_t done = 0;
        int k;
        sums[0] = sums[1] = sums[2] = sums[3] = 0;
        while (done < p->spatial) {
            const int32_t n = p->spatial - done < 256 ? p->spatial - done : 256;
            int32_t lanes02 = 0, lanes13 = 0, i;
            for (i = 0; i < n; i++, x += p->channels) {
                const int32_t w = kws_read_s8x4(x);
                lanes02 = (int32_t)__sxtab16((uint32_t)lanes02, (uint32_t)w);
                lanes13 = kws_sxtab16_hi(lanes13, w);
            }
            sums[0] += (int16_t)lanes02;
            sums[2] += (int16_t)(lanes02 >> 16);
            sums[1] += (int16_t)lanes13;
            sums[3] += (int16_t)(lanes13 >> 16);
            done += n;
        }
        for (k = 0; k < 4; k++) {
            output[c + k] = kws_requant(KWS_REQUANT_EXACT, &rq, sums[k] - zero_sum, 0);
        }
    }
#endif
    for (; c < p->channels; c++) {
        sum_channel(p, input, c, &sums[0]);
        output[c] = kws_requant(KWS_REQUANT_EXACT, &rq, sums[0] - zero_sum, 0);
    }
}
