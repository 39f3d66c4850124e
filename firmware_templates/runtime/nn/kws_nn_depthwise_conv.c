/* DEPTHWISE_CONV_2D, int8, per-channel requantisation (TFLite's DepthwiseConvPerChannel).
 *
 * Output channel c reads input channel c / depth_multiplier. For each output
 * pixel the kernel first finds where each tap reads: an input pixel, or a row
 * of the input zero point where the tap falls in the padding (which then
 * contributes exactly nothing, as TFLite's skipped terms do). The channel
 * loops need no bounds checks after that.
 *
 * The generator stores the weights as int16 pairs: for each group of four
 * channels, each pair of taps 2j, 2j + 1 and each channel of the group,
 * (w[2j][c], w[2j + 1][c]) (see kws_nn.h). With depth
 * multiplier 1 the DSP path reads four channels of two taps as two input
 * words, splits them with SXTB16, packs each channel's two taps into one word
 * with PKHBT / PKHTB, and SMLAD multiplies both taps at once. The last tap of
 * an odd count goes alone, through SMLABB / SMLATB. */
#include <string.h>

#include "kws_nn.h"
#include "kws_nn_dsp.h"
#include "kws_nn_requant.h"

/* Scratch: the padding row (in_c bytes, rounded up to 8), then one pointer per
 * tap, then one int32 offset per tap. Returns the pointer table. */
static const int8_t **tap_table(const kws_conv_params_t *p, int8_t *scratch)
{
    const int32_t pad_bytes = ((int32_t)p->in_c + 7) & ~(int32_t)7;
    memset(scratch, p->pad_value, (size_t)pad_bytes);
    return (const int8_t **)(void *)(scratch + pad_bytes);
}

static void find_taps(const kws_conv_params_t *p, const int8_t *input, const int8_t *pad, int oy, int ox,
                      const int8_t **taps)
{
    const int32_t row_bytes = (int32_t)p->in_w * p->in_c;
    const int ix0 = ox * p->stride_w - p->pad_w;
    int ky, kx;
    if (ix0 >= 0 && ix0 + (p->k_w - 1) * p->dil_w < p->in_w) {
        /* Every column inside: only the rows need checking. */
        const int32_t step = (int32_t)p->dil_w * p->in_c;
        for (ky = 0; ky < p->k_h; ky++) {
            const int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) {
                for (kx = 0; kx < p->k_w; kx++) {
                    *taps++ = pad;
                }
            } else {
                const int8_t *at = input + iy * row_bytes + (int32_t)ix0 * p->in_c;
                for (kx = 0; kx < p->k_w; kx++, at += step) {
                    *taps++ = at;
                }
            }
        }
    } else {
        for (ky = 0; ky < p->k_h; ky++) {
            const int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
            const int row_inside = iy >= 0 && iy < p->in_h;
            for (kx = 0; kx < p->k_w; kx++) {
                const int ix = ix0 + kx * p->dil_w;
                const int inside = row_inside && ix >= 0 && ix < p->in_w;
                *taps++ = inside ? input + iy * row_bytes + (int32_t)ix * p->in_c : pad;
            }
        }
    }
}

/* Where weight (tap t, channel c) is in the packed int16 layout (see kws_nn.h). */
static int32_t weight_index(int t, int c, int pairs)
{
    return ((int32_t)(c >> 2) * pairs + (t >> 1)) * 8 + (c & 3) * 2 + (t & 1);
}

/* Channels [from, out_c) of one pixel, one at a time: any depth multiplier. */
KWS_INLINE void channels_scalar(const kws_conv_params_t *p, const kws_requant_params_t *rq, int mode,
                                const int8_t **taps, int n_taps, int from, int8_t *out)
{
    const int16_t *weights = (const int16_t *)p->filter;
    const int pairs = (n_taps + 1) >> 1;
    int oc, t;
    for (oc = from; oc < p->out_c; oc++) {
        const int ic = p->depth_multiplier == 1 ? oc : oc / p->depth_multiplier;
        int32_t acc = 0;
        for (t = 0; t < n_taps; t++) {
            acc += taps[t][ic] * weights[weight_index(t, oc, pairs)];
        }
        out[oc] = kws_requant(mode, rq, kws_add_wrap(p->bias[oc], acc), oc);
    }
}

#if KWS_USE_DSP
/* Depth multiplier 1: every whole group of four channels; returns the first channel not done.
 * Each group's weights are contiguous: per pair of taps, four words (w[2j][c], w[2j+1][c]). */
KWS_INLINE int channels_by_four(const kws_conv_params_t *p, const kws_requant_params_t *rq, int mode,
                                const int8_t **taps, int n_taps, int8_t *out)
{
    const int8_t *w = (const int8_t *)p->filter; /* int16 pairs, read as words through memcpy */
    const int32_t *bias = p->bias, *mult = rq->multiplier, *rounding = rq->rounding;
    const int8_t *shift = rq->shift;
    const int32_t offset = rq->offset, lo = rq->lo, hi = rq->hi;
    const int8_t **pairs_end = taps + (n_taps & ~1);
    const int odd = n_taps & 1;
    int c;
    for (c = 0; c + 3 < p->out_c; c += 4) {
        const int8_t **tap = taps;
        int32_t s0 = bias[c], s1 = bias[c + 1], s2 = bias[c + 2], s3 = bias[c + 3];
        while (tap != pairs_end) {
            const int32_t xa = kws_read_s8x4(tap[0] + c), xb = kws_read_s8x4(tap[1] + c);
            int32_t lo_a = kws_sxtb16_lo(xa), lo_b = kws_sxtb16_lo(xb);
            s0 = __smlad(kws_pkhbt16(lo_a, lo_b), kws_read_word(w), s0);
            s2 = __smlad(kws_pkhtb16(lo_b, lo_a), kws_read_word(w + 8), s2);
            KWS_SCHEDULE_BARRIER();
            lo_a = kws_sxtb16_hi(xa);
            lo_b = kws_sxtb16_hi(xb);
            s1 = __smlad(kws_pkhbt16(lo_a, lo_b), kws_read_word(w + 4), s1);
            s3 = __smlad(kws_pkhtb16(lo_b, lo_a), kws_read_word(w + 12), s3);
            tap += 2;
            w += 16;
        }
        if (odd) {
            /* The last tap alone: its weights sit in the low halves, beside zeros. */
            const int32_t x = kws_read_s8x4(tap[0] + c);
            const int32_t x02 = kws_sxtb16_lo(x), x13 = kws_sxtb16_hi(x);
            s0 = __smlabb(x02, kws_read_word(w), s0);
            s2 = __smlatb(x02, kws_read_word(w + 8), s2);
            s1 = __smlabb(x13, kws_read_word(w + 4), s1);
            s3 = __smlatb(x13, kws_read_word(w + 12), s3);
            w += 16;
        }
        {
            /* Read before the first int8 store, which could otherwise alias them. */
            const int32_t m0 = mult[c], m1 = mult[c + 1], m2 = mult[c + 2], m3 = mult[c + 3];
            const int sh0 = shift[c], sh1 = shift[c + 1], sh2 = shift[c + 2], sh3 = shift[c + 3];
            const int32_t r0 = rounding[c], r1 = rounding[c + 1], r2 = rounding[c + 2], r3 = rounding[c + 3];
            out[c] = kws_requant_one(mode, s0, m0, sh0, r0, offset, lo, hi);
            out[c + 1] = kws_requant_one(mode, s1, m1, sh1, r1, offset, lo, hi);
            out[c + 2] = kws_requant_one(mode, s2, m2, sh2, r2, offset, lo, hi);
            out[c + 3] = kws_requant_one(mode, s3, m3, sh3, r3, offset, lo, hi);
        }
    }
    return c;
}
#endif

/* In place (output == input; the generator aliases only stride-1 layers with
 * depth multiplier 1 whose output has the input's shape), output row oy would
 * overwrite input row oy, which output rows up to oy + pad_h still read. So
 * each output row is held in one of pad_h + 1 row buffers after the tap
 * tables and copied home once the last row that reads its input is done. */
static int8_t *held_rows(const kws_conv_params_t *p, int8_t *scratch)
{
    const int32_t pad_bytes = ((int32_t)p->in_c + 7) & ~(int32_t)7;
    const int32_t table_bytes = (12 * (int32_t)p->k_h * p->k_w + 7) & ~(int32_t)7;
    return scratch + pad_bytes + table_bytes;
}

KWS_INLINE void depthwise_body(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch,
                               int mode)
{
    const kws_requant_params_t rq = KWS_REQUANT_PARAMS(p);
    const int8_t **taps = tap_table(p, scratch);
    const int n_taps = p->k_h * p->k_w, in_c = p->in_c, out_c = p->out_c;
    const int span_h = (p->k_h - 1) * p->dil_h, span_w = (p->k_w - 1) * p->dil_w;
    const int32_t row_bytes = (int32_t)p->out_w * out_c;
    const int in_place = output == input, held = p->pad_h + 1;
    int8_t *const rows = in_place ? held_rows(p, scratch) : output;
    int32_t *offsets = (int32_t *)(void *)(taps + n_taps); /* of each tap from the top-left one */
    int oy, ox, t;
    for (t = 0; t < n_taps; t++) {
        offsets[t] = ((int32_t)(t / p->k_w) * p->dil_h * p->in_w + (t % p->k_w) * p->dil_w) * in_c;
    }
    for (oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        const int rows_inside = iy0 >= 0 && iy0 + span_h < p->in_h;
        int8_t *out = in_place ? rows + (oy % held) * row_bytes : output + oy * row_bytes;
        for (ox = 0; ox < p->out_w; ox++) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            int done = 0;
            if (rows_inside && ix0 >= 0 && ix0 + span_w < p->in_w) {
                const int8_t *corner = input + ((int32_t)iy0 * p->in_w + ix0) * in_c;
                for (t = 0; t < n_taps; t++) {
                    taps[t] = corner + offsets[t];
                }
            } else {
                find_taps(p, input, scratch, oy, ox, taps);
            }
#if KWS_USE_DSP
            if (p->depth_multiplier == 1) {
                done = channels_by_four(p, &rq, mode, taps, n_taps, out);
            }
#endif
            channels_scalar(p, &rq, mode, taps, n_taps, done, out);
            out += out_c;
        }
        if (in_place && oy >= p->pad_h) {
            const int home = oy - p->pad_h; /* no later row reads input row `home` */
            memcpy(output + home * row_bytes, rows + (home % held) * row_bytes, (size_t)row_bytes);
        }
    }
    if (in_place) {
        for (oy = p->out_h - p->pad_h < 0 ? 0 : p->out_h - p->pad_h; oy < p->out_h; oy++) {
            memcpy(output + oy * row_bytes, rows + (oy % held) * row_bytes, (size_t)row_bytes);
        }
    }
}

void kws_depthwise_conv_s8(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch)
{
    switch (p->requant_mode) {
    case KWS_REQUANT_FAST_INT8:
        depthwise_body(p, input, output, scratch, KWS_REQUANT_FAST_INT8);
        break;
    case KWS_REQUANT_FAST:
        depthwise_body(p, input, output, scratch, KWS_REQUANT_FAST);
        break;
    default:
        depthwise_body(p, input, output, scratch, KWS_REQUANT_EXACT);
        break;
    }
}
