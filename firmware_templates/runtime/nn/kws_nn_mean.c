/* MEAN over height and width, int8 (TFLite Micro's QuantizedMeanOrSum).
 *
 * The zero-point-free sum of each channel is rescaled by one multiplier and
 * shift that already hold input_scale / output_scale / count: the generator
 * folds 1/count into the multiplier with TFLite's integer arithmetic, so
 * nothing here divides. TFLite Micro takes this path whatever keep_dims is,
 * and even when the input and output quantisation are the same. */
#include "kws_nn.h"
#include "kws_nn_requant.h"

void kws_mean_s8(const kws_mean_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t zero_sum = (int32_t)p->input_zero_point * p->spatial;
    int c, i;
    for (c = 0; c < p->channels; c++) {
        int32_t sum = 0;
        for (i = 0; i < p->spatial; i++) {
            sum += input[(int32_t)i * p->channels + c];
        }
        output[c] = kws_requant(sum - zero_sum, p->multiplier, p->shift, p->output_zero_point, -128, 127);
    }
}
