/* CONV_2D, int8, per-channel requantisation (TFLite's ConvPerChannel).
 *
 * For each output pixel the receptive field is gathered into a column (the
 * input zero point where it falls outside the image, zeros up to a multiple
 * of four), and every output channel is one dot product of the column with
 * its filter row. A 1x1 convolution with stride 1, no padding and a depth
 * that is a multiple of four reads the input pixel directly.
 *
 * The filter is pair-packed by the generator (see kws_nn.h): for each pair of
 * output channels, four weights of the first, then four of the second. So
 * both paths walk one pointer through two channels at once. The DSP path also
 * takes two pixels at once: their columns are widened to int16, interleaved,
 * in SXTB16 order, and a 2x2 block (two channels for two pixels) costs two
 * filter words, four column words and eight SMLADs per four weights. */
#include <string.h>

#include "kws_nn.h"
#include "kws_nn_dsp.h"
#include "kws_nn_requant.h"

static int32_t depth_of(const kws_conv_params_t *p)
{
    return (int32_t)p->k_h * p->k_w * p->in_c;
}

static int32_t depth4_of(const kws_conv_params_t *p)
{
    return (depth_of(p) + 3) & ~(int32_t)3;
}

/* n bytes; a plain loop, as the rows here are often a few bytes, where a
 * library call costs more than the copy. */
KWS_INLINE void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4, src += 4) {
        KWS_MEMCPY4(dst, src);
    }
    while (n-- > 0) {
        *dst++ = *src++;
    }
}

KWS_INLINE void fill_bytes(int8_t *dst, int8_t value, int32_t n)
{
    while (n-- > 0) {
        *dst++ = value;
    }
}

/* The receptive field of output pixel (oy, ox) into col, a kernel row at a time. */
static void gather_column(const kws_conv_params_t *p, const int8_t *input, int oy, int ox, int8_t *col)
{
    const int in_c = p->in_c, k_w = p->k_w, dil_w = p->dil_w;
    const int ix0 = ox * p->stride_w - p->pad_w;
    const int row_inside = ix0 >= 0 && ix0 + (k_w - 1) * dil_w < p->in_w;
    const int32_t row_bytes = (int32_t)k_w * in_c, line = (int32_t)p->in_w * in_c;
    int ky, kx;
    for (ky = 0; ky < p->k_h; ky++) {
        const int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) {
            fill_bytes(col, p->pad_value, row_bytes);
            col += row_bytes;
        } else if (row_inside && dil_w == 1) {
            copy_bytes(col, input + iy * line + (int32_t)ix0 * in_c, row_bytes);
            col += row_bytes;
        } else {
            for (kx = 0; kx < k_w; kx++) {
                const int ix = ix0 + kx * dil_w;
                if (ix < 0 || ix >= p->in_w) {
                    fill_bytes(col, p->pad_value, in_c);
                } else {
                    copy_bytes(col, input + iy * line + (int32_t)ix * in_c, in_c);
                }
                col += in_c;
            }
        }
    }
}

/* The int8 column of `pixel`, depth4 values: the input itself, or gathered into col. */
static const int8_t *column(const kws_conv_params_t *p, const int8_t *input, int32_t pixel, int8_t *col)
{
    const int32_t depth = depth_of(p), depth4 = depth4_of(p);
    const int direct = p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 &&
                       p->pad_w == 0;
    if (direct && depth == depth4) {
        return input + pixel * p->in_c;
    }
    gather_column(p, input, (int)(pixel / p->out_w), (int)(pixel % p->out_w), col);
    fill_bytes(col + depth, 0, depth4 - depth); /* meets zero weights; must not be left undefined */
    return col;
}

#if !KWS_USE_DSP

KWS_INLINE void conv_body(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch,
                          int mode)
{
    const kws_requant_params_t rq = KWS_REQUANT_PARAMS(p);
    const int32_t depth4 = depth4_of(p), pixels = (int32_t)p->out_h * p->out_w;
    const int in_place = output == input;
    int32_t pixel, k;
    int oc;
    for (pixel = 0; pixel < pixels; pixel++) {
        const int8_t *col = column(p, input, pixel, scratch);
        if (col != scratch && in_place) {
            /* In place (a 1x1 layer, out_c <= in_c): the outputs overwrite the pixel being read. */
            copy_bytes(scratch, col, depth4);
            col = scratch;
        }
        for (oc = 0; oc < p->out_c; oc += 2) {
            const int8_t *w = (const int8_t *)p->filter + (int32_t)oc * depth4;
            int32_t s0 = 0, s1 = 0;
            for (k = 0; k < depth4; k += 4, w += 8) {
                s0 += w[0] * col[k] + w[1] * col[k + 1] + w[2] * col[k + 2] + w[3] * col[k + 3];
                s1 += w[4] * col[k] + w[5] * col[k + 1] + w[6] * col[k + 2] + w[7] * col[k + 3];
            }
            output[oc] = kws_requant(mode, &rq, kws_add_wrap(p->bias[oc], s0), oc);
            if (oc + 1 < p->out_c) {
                output[oc + 1] = kws_requant(mode, &rq, kws_add_wrap(p->bias[oc + 1], s1), oc + 1);
            }
        }
        output += p->out_c;
    }
}

#else /* KWS_USE_DSP */

/* Widen one int8 column into slot 0 or 1 of the interleaved int16 column pair:
 * per four values, words (x0, x2) (x1, x3) of pixel A, then those of pixel B. */
static void widen_into(const int8_t *src, int32_t *pair, int slot, int32_t depth4)
{
    int32_t g;
    pair += 2 * slot;
    for (g = 0; g < depth4; g += 4, pair += 4) {
        const int32_t x = kws_read_s8x4(src + g);
        pair[0] = kws_sxtb16_lo(x);
        pair[1] = kws_sxtb16_hi(x);
    }
}

/* The column of `pixel` straight into its slot of the pair, a kernel row at a
 * time, when each row is whole groups of four (k_w * in_c a multiple of 4):
 * rows inside the image are widened from the input itself, rows in the
 * padding become padding words, and only rows that straddle the edge are
 * gathered (into row, scratch) first. Otherwise it gathers the whole column. */
static void column_into(const kws_conv_params_t *p, const int8_t *input, int32_t pixel, int8_t *row, int32_t *pair,
                        int slot, int32_t depth4)
{
    const int in_c = p->in_c, k_w = p->k_w, dil_w = p->dil_w;
    const int32_t row_bytes = (int32_t)k_w * in_c, line = (int32_t)p->in_w * in_c;
    const int oy = (int)(pixel / p->out_w), ox = (int)(pixel % p->out_w);
    const int ix0 = ox * p->stride_w - p->pad_w;
    const int row_inside = dil_w == 1 && ix0 >= 0 && ix0 + k_w - 1 < p->in_w;
    int32_t g, pad;
    int ky, kx;
    if ((row_bytes & 3) || p->k_h * k_w == 1) {
        widen_into(column(p, input, pixel, row), pair, slot, depth4); /* also the direct 1x1 case */
        return;
    }
    pair += 2 * slot;
    {
        const int iy0 = oy * p->stride_h - p->pad_h;
        if (row_inside && iy0 >= 0 && iy0 + (p->k_h - 1) * p->dil_h < p->in_h) {
            /* The whole field inside the image: widen straight from the input rows. */
            const int8_t *src = input + iy0 * line + (int32_t)ix0 * in_c;
            const int32_t step = (int32_t)p->dil_h * line;
            for (ky = 0; ky < p->k_h; ky++, src += step) {
                for (g = 0; g < row_bytes; g += 4, pair += 4) {
                    const int32_t x = kws_read_s8x4(src + g);
                    pair[0] = kws_sxtb16_lo(x);
                    pair[1] = kws_sxtb16_hi(x);
                }
            }
            return;
        }
    }
    pad = (int32_t)(uint8_t)p->pad_value * 0x01010101;
    for (ky = 0; ky < p->k_h; ky++) {
        const int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
        const int8_t *src = row;
        if (iy < 0 || iy >= p->in_h) {
            for (g = 0; g < row_bytes; g += 4, pair += 4) {
                pair[0] = kws_sxtb16_lo(pad);
                pair[1] = kws_sxtb16_hi(pad);
            }
            continue;
        }
        if (row_inside) {
            src = input + iy * line + (int32_t)ix0 * in_c;
        } else {
            for (kx = 0; kx < k_w; kx++) {
                const int ix = ix0 + kx * dil_w;
                if (ix < 0 || ix >= p->in_w) {
                    fill_bytes(row + kx * in_c, p->pad_value, in_c);
                } else {
                    copy_bytes(row + kx * in_c, input + iy * line + (int32_t)ix * in_c, in_c);
                }
            }
        }
        for (g = 0; g < row_bytes; g += 4, pair += 4) {
            const int32_t x = kws_read_s8x4(src + g);
            pair[0] = kws_sxtb16_lo(x);
            pair[1] = kws_sxtb16_hi(x);
        }
    }
}

/* Four depth positions of a 2x2 block: two filter words against four column words. */
#define KWS_CONV_GROUP(w, x)                                             \
    do {                                                                 \
        const int32_t f0 = kws_read_s8x4(w), f1 = kws_read_s8x4((w) + 4); \
        const int32_t f0l = kws_sxtb16_lo(f0), f0h = kws_sxtb16_hi(f0);  \
        const int32_t f1l = kws_sxtb16_lo(f1), f1h = kws_sxtb16_hi(f1);  \
        s0a = __smlad((x)[0], f0l, s0a);                                 \
        s0a = __smlad((x)[1], f0h, s0a);                                 \
        s1a = __smlad((x)[0], f1l, s1a);                                 \
        s1a = __smlad((x)[1], f1h, s1a);                                 \
        s0b = __smlad((x)[2], f0l, s0b);                                 \
        s0b = __smlad((x)[3], f0h, s0b);                                 \
        s1b = __smlad((x)[2], f1l, s1b);                                 \
        s1b = __smlad((x)[3], f1h, s1b);                                 \
    } while (0)

#if KWS_NN_ASM
/* KWS_CONV_GROUP over groups >= 1 groups of four depth positions, in 18
 * instructions a group where GCC 12 takes 23: per group, the column pair's
 * four words (A02, A13, B02, B13) by two LDRDs (the pair is 8-byte aligned),
 * then each channel's filter word, split by SXTB16 into two registers that
 * are reused for the second channel. *w is left after the block's weights. */
KWS_INLINE void block_asm(const int8_t **w, const int32_t *x, int32_t groups, int32_t *s0a, int32_t *s0b,
                          int32_t *s1a, int32_t *s1b)
{
    const int8_t *wp = *w;
    int32_t a0, a1, b0, b1, f, g;
    __asm__ volatile(
        "1:\n\t"
        "ldrd   %[a0], %[a1], [%[x]], #8\n\t"
        "ldrd   %[b0], %[b1], [%[x]], #8\n\t"
        "ldr    %[f], [%[w]], #4\n\t"
        "sxtb16 %[g], %[f]\n\t"
        "sxtb16 %[f], %[f], ror #8\n\t"
        "smlad  %[s0a], %[a0], %[g], %[s0a]\n\t"
        "smlad  %[s0a], %[a1], %[f], %[s0a]\n\t"
        "smlad  %[s0b], %[b0], %[g], %[s0b]\n\t"
        "smlad  %[s0b], %[b1], %[f], %[s0b]\n\t"
        "ldr    %[f], [%[w]], #4\n\t"
        "sxtb16 %[g], %[f]\n\t"
        "sxtb16 %[f], %[f], ror #8\n\t"
        "smlad  %[s1a], %[a0], %[g], %[s1a]\n\t"
        "smlad  %[s1a], %[a1], %[f], %[s1a]\n\t"
        "smlad  %[s1b], %[b0], %[g], %[s1b]\n\t"
        "smlad  %[s1b], %[b1], %[f], %[s1b]\n\t"
        "subs   %[n], %[n], #1\n\t"
        "bne    1b\n\t"
        : [w] "+r"(wp), [x] "+r"(x), [n] "+r"(groups), [s0a] "+r"(*s0a), [s0b] "+r"(*s0b), [s1a] "+r"(*s1a),
          [s1b] "+r"(*s1b), [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [f] "=&r"(f),
          [g] "=&r"(g)
        :
        : "cc", "memory");
    *w = wp;
}
#endif

/* One pixel pair: every pair of output channels, walking the pair-packed
 * filter and the per-channel arrays with pointers, so that little stays live
 * around the inner loop. For an odd channel count the generator pads the
 * filter, bias, multiplier and shift arrays with one more channel, which is
 * computed and not stored. */
KWS_INLINE void pixel_pair(const kws_conv_params_t *p, int mode, const int32_t *pair, int32_t depth4, int8_t *out_a,
                           int8_t *out_b)
{
    const int8_t *w = (const int8_t *)p->filter;
    const int32_t *bias = p->bias, *mult = p->multiplier, *rounding = p->rounding;
    const int8_t *shift = p->shift;
    const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    int n;
    for (n = p->out_c; n > 0; n -= 2) {
        const int32_t *x = pair;
        int32_t s0a = bias[0], s0b = s0a, s1a = bias[1], s1b = s1a;
#if KWS_NN_ASM
        block_asm(&w, x, depth4 >> 2, &s0a, &s0b, &s1a, &s1b);
#else
        int32_t g;
        for (g = depth4 >> 3; g > 0; g--) {
            KWS_CONV_GROUP(w, x);
            KWS_CONV_GROUP(w + 8, x + 4);
            w += 16;
            x += 8;
        }
        if (depth4 & 4) {
            KWS_CONV_GROUP(w, x);
            w += 8;
        }
#endif
        {
            /* Read before the first int8 store, which could otherwise alias them. */
            const int32_t m0 = mult[0], m1 = mult[1];
            const int32_t r0 = rounding[0], r1 = rounding[1];
            const int sh0 = shift[0], sh1 = shift[1];
            out_a[0] = kws_requant_one(mode, s0a, m0, sh0, r0, offset, lo, hi);
            out_b[0] = kws_requant_one(mode, s0b, m0, sh0, r0, offset, lo, hi);
            if (n > 1) {
                out_a[1] = kws_requant_one(mode, s1a, m1, sh1, r1, offset, lo, hi);
                out_b[1] = kws_requant_one(mode, s1b, m1, sh1, r1, offset, lo, hi);
            }
        }
        bias += 2;
        mult += 2;
        shift += 2;
        rounding += 2;
        out_a += 2;
        out_b += 2;
    }
}

KWS_INLINE void conv_body(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch,
                          int mode)
{
    const int32_t depth4 = depth4_of(p), pixels = (int32_t)p->out_h * p->out_w;
    /* Scratch: the int8 column (depth4 bytes, rounded up to 8), then the int16 column pair. */
    int32_t *pair = (int32_t *)(void *)(scratch + ((depth4 + 7) & ~(int32_t)7));
    int32_t pixel;
    for (pixel = 0; pixel < pixels; pixel += 2) {
        /* An odd last pixel is computed twice into the same place: simpler than a third kernel. */
        const int32_t second = pixel + 1 < pixels ? pixel + 1 : pixel;
        column_into(p, input, pixel, scratch, pair, 0, depth4);
        column_into(p, input, second, scratch, pair, 1, depth4);
        pixel_pair(p, mode, pair, depth4, output + pixel * p->out_c, output + second * p->out_c);
    }
}

#endif /* KWS_USE_DSP */

void kws_conv_s8(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch)
{
    switch (p->requant_mode) {
    case KWS_REQUANT_FAST_INT8:
        conv_body(p, input, output, scratch, KWS_REQUANT_FAST_INT8);
        break;
    case KWS_REQUANT_FAST:
        conv_body(p, input, output, scratch, KWS_REQUANT_FAST);
        break;
    default:
        conv_body(p, input, output, scratch, KWS_REQUANT_EXACT);
        break;
    }
}
