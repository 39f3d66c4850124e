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
 * takes three pixels at once: their columns are widened to int16, interleaved,
 * in SXTB16 order, and a block (two channels for three pixels) costs two
 * filter words, six column words and twelve SMLADs per four weights. */
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

/* Pixels per block: three, so that each filter word, once split by SXTB16,
 * serves three pixels (two channels x three pixels need 14 registers). */
#define KWS_CONV_PIXELS 3

/* Widen one int8 column into its slot of the interleaved int16 columns: per
 * four values, words (x0, x2) (x1, x3) of pixel A, then B's, then C's. */
static void widen_into(const int8_t *src, int32_t *cols, int slot, int32_t depth4)
{
    int32_t g;
    cols += 2 * slot;
    for (g = 0; g < depth4; g += 4, cols += 2 * KWS_CONV_PIXELS) {
        const int32_t x = kws_read_s8x4(src + g);
        cols[0] = kws_sxtb16_lo(x);
        cols[1] = kws_sxtb16_hi(x);
    }
}

/* The column of `pixel` straight into its slot, a kernel row at a time, when
 * each row is whole groups of four (k_w * in_c a multiple of 4): rows inside
 * the image are widened from the input itself, rows in the padding become
 * padding words, and only rows that straddle the edge are gathered (into
 * row, scratch) first. Otherwise it gathers the whole column. */
static void column_into(const kws_conv_params_t *p, const int8_t *input, int32_t pixel, int8_t *row, int32_t *cols,
                        int slot, int32_t depth4)
{
    const int in_c = p->in_c, k_w = p->k_w, dil_w = p->dil_w;
    const int32_t row_bytes = (int32_t)k_w * in_c, line = (int32_t)p->in_w * in_c;
    const int oy = (int)(pixel / p->out_w), ox = (int)(pixel % p->out_w);
    const int ix0 = ox * p->stride_w - p->pad_w;
    const int row_inside = dil_w == 1 && ix0 >= 0 && ix0 + k_w - 1 < p->in_w;
    int32_t g, pad;
    int ky, kx;
    if (row_bytes & 3) {
        widen_into(column(p, input, pixel, row), cols, slot, depth4);
        return;
    }
    cols += 2 * slot;
    {
        const int iy0 = oy * p->stride_h - p->pad_h;
        if (row_inside && iy0 >= 0 && iy0 + (p->k_h - 1) * p->dil_h < p->in_h) {
            /* The whole field inside the image: widen straight from the input rows. */
            const int8_t *src = input + iy0 * line + (int32_t)ix0 * in_c;
            const int32_t step = (int32_t)p->dil_h * line;
            for (ky = 0; ky < p->k_h; ky++, src += step) {
                for (g = 0; g < row_bytes; g += 4, cols += 2 * KWS_CONV_PIXELS) {
                    const int32_t x = kws_read_s8x4(src + g);
                    cols[0] = kws_sxtb16_lo(x);
                    cols[1] = kws_sxtb16_hi(x);
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
            for (g = 0; g < row_bytes; g += 4, cols += 2 * KWS_CONV_PIXELS) {
                cols[0] = kws_sxtb16_lo(pad);
                cols[1] = kws_sxtb16_hi(pad);
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
        for (g = 0; g < row_bytes; g += 4, cols += 2 * KWS_CONV_PIXELS) {
            const int32_t x = kws_read_s8x4(src + g);
            cols[0] = kws_sxtb16_lo(x);
            cols[1] = kws_sxtb16_hi(x);
        }
    }
}

/* Whether every pixel's column is the input pixel itself (1x1, stride 1, unpadded, whole groups of four). */
static int reads_pixels_directly(const kws_conv_params_t *p)
{
    return p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 && p->pad_w == 0 &&
           (p->in_c & 3) == 0;
}

/* The accumulators of a block: channels 0 and 1 (of the pair) for pixels a, b and c. */
typedef struct {
    int32_t s0a, s1a, s0b, s1b, s0c, s1c;
} kws_block_sums_t;

/* Four depth positions of a block: two filter words against six column words. */
#define KWS_CONV_GROUP(w, x, s)                                                 \
    do {                                                                        \
        const int32_t f0 = kws_read_s8x4(w), f1 = kws_read_s8x4((w) + 4);        \
        const int32_t f0l = kws_sxtb16_lo(f0), f0h = kws_sxtb16_hi(f0);         \
        const int32_t f1l = kws_sxtb16_lo(f1), f1h = kws_sxtb16_hi(f1);         \
        (s).s0a = __smlad((x)[1], f0h, __smlad((x)[0], f0l, (s).s0a));          \
        (s).s1a = __smlad((x)[1], f1h, __smlad((x)[0], f1l, (s).s1a));          \
        (s).s0b = __smlad((x)[3], f0h, __smlad((x)[2], f0l, (s).s0b));          \
        (s).s1b = __smlad((x)[3], f1h, __smlad((x)[2], f1l, (s).s1b));          \
        (s).s0c = __smlad((x)[5], f0h, __smlad((x)[4], f0l, (s).s0c));          \
        (s).s1c = __smlad((x)[5], f1h, __smlad((x)[4], f1l, (s).s1c));          \
    } while (0)

#if KWS_NN_ASM
/* KWS_CONV_GROUP over every group of four depth positions, in 24 instructions
 * a group (24 multiply-accumulates) where GCC 12 spills: per group, both
 * channels' filter words split by SXTB16 into four registers, then each
 * pixel's two column words by one LDRD (the columns are 8-byte aligned) and
 * four SMLADs. 14 registers: the six accumulators, w, x, the two column words
 * and the four filter halves; the end of the columns stays in memory. *w is
 * left after the block's weights. */
KWS_INLINE void block_asm(const int8_t **w, const int32_t *x, const int32_t *x_end, kws_block_sums_t *s)
{
    const int8_t *wp = *w;
    int32_t s0a = s->s0a, s1a = s->s1a, s0b = s->s0b, s1b = s->s1b, s0c = s->s0c, s1c = s->s1c;
    int32_t c0, c1, g0, f0, g1, f1;
    __asm__ volatile(
        "1:\n\t"
        "ldr    %[f0], [%[w]], #4\n\t"
        "sxtb16 %[g0], %[f0]\n\t"
        "sxtb16 %[f0], %[f0], ror #8\n\t"
        "ldr    %[f1], [%[w]], #4\n\t"
        "sxtb16 %[g1], %[f1]\n\t"
        "sxtb16 %[f1], %[f1], ror #8\n\t"
        "ldrd   %[c0], %[c1], [%[x]], #8\n\t"
        "smlad  %[s0a], %[c0], %[g0], %[s0a]\n\t"
        "smlad  %[s0a], %[c1], %[f0], %[s0a]\n\t"
        "smlad  %[s1a], %[c0], %[g1], %[s1a]\n\t"
        "smlad  %[s1a], %[c1], %[f1], %[s1a]\n\t"
        "ldrd   %[c0], %[c1], [%[x]], #8\n\t"
        "smlad  %[s0b], %[c0], %[g0], %[s0b]\n\t"
        "smlad  %[s0b], %[c1], %[f0], %[s0b]\n\t"
        "smlad  %[s1b], %[c0], %[g1], %[s1b]\n\t"
        "smlad  %[s1b], %[c1], %[f1], %[s1b]\n\t"
        "ldrd   %[c0], %[c1], [%[x]], #8\n\t"
        "smlad  %[s0c], %[c0], %[g0], %[s0c]\n\t"
        "smlad  %[s0c], %[c1], %[f0], %[s0c]\n\t"
        "smlad  %[s1c], %[c0], %[g1], %[s1c]\n\t"
        "smlad  %[s1c], %[c1], %[f1], %[s1c]\n\t"
        "ldr    %[c0], %[end]\n\t"
        "cmp    %[x], %[c0]\n\t"
        "bne    1b\n\t"
        : [w] "+r"(wp), [x] "+r"(x), [s0a] "+r"(s0a), [s1a] "+r"(s1a), [s0b] "+r"(s0b), [s1b] "+r"(s1b),
          [s0c] "+r"(s0c), [s1c] "+r"(s1c), [c0] "=&r"(c0), [c1] "=&r"(c1), [g0] "=&r"(g0), [f0] "=&r"(f0),
          [g1] "=&r"(g1), [f1] "=&r"(f1)
        : [end] "m"(x_end)
        : "cc", "memory");
    s->s0a = s0a;
    s->s1a = s1a;
    s->s0b = s0b;
    s->s1b = s1b;
    s->s0c = s0c;
    s->s1c = s1c;
    *w = wp;
}
#endif

/* One block of pixels: every pair of output channels for the three pixels
 * whose outputs start at out_a, out_b and out_c. For an odd channel count the
 * generator pads the filter, bias, multiplier and shift arrays with one more
 * channel, which is computed and not stored. One channel index rather than a
 * pointer per array keeps few values alive around the dot product. */
KWS_INLINE void pixel_block(const kws_conv_params_t *p, int mode, const int32_t *cols, int32_t depth4, int8_t *out_a,
                            int8_t *out_b, int8_t *out_c)
{
    const int8_t *w = (const int8_t *)p->filter;
    const int32_t *bias = p->bias, *mult = p->multiplier, *rounding = p->rounding;
    const int8_t *shift = p->shift;
    const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t *cols_end = cols + depth4 / 4 * 2 * KWS_CONV_PIXELS;
    const int channels = p->out_c;
    int c;
    for (c = 0; c < channels; c += 2) {
        kws_block_sums_t s;
        s.s0a = s.s0b = s.s0c = bias[c];
        s.s1a = s.s1b = s.s1c = bias[c + 1];
#if KWS_NN_ASM
        block_asm(&w, cols, cols_end, &s);
#else
        {
            const int32_t *x;
            for (x = cols; x != cols_end; x += 2 * KWS_CONV_PIXELS, w += 8) {
                KWS_CONV_GROUP(w, x, s);
            }
        }
#endif
        {
            /* Read before the first int8 store, which could otherwise alias them. */
            const int32_t m0 = mult[c], m1 = mult[c + 1];
            const int32_t r0 = rounding[c], r1 = rounding[c + 1];
            const int sh0 = shift[c], sh1 = shift[c + 1];
            out_a[c] = kws_requant_one(mode, s.s0a, m0, sh0, r0, offset, lo, hi);
            out_b[c] = kws_requant_one(mode, s.s0b, m0, sh0, r0, offset, lo, hi);
            out_c[c] = kws_requant_one(mode, s.s0c, m0, sh0, r0, offset, lo, hi);
            if (c + 1 < channels) {
                out_a[c + 1] = kws_requant_one(mode, s.s1a, m1, sh1, r1, offset, lo, hi);
                out_b[c + 1] = kws_requant_one(mode, s.s1b, m1, sh1, r1, offset, lo, hi);
                out_c[c + 1] = kws_requant_one(mode, s.s1c, m1, sh1, r1, offset, lo, hi);
            }
        }
    }
}

KWS_INLINE void conv_body(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch,
                          int mode)
{
    const int32_t depth4 = depth4_of(p), pixels = (int32_t)p->out_h * p->out_w;
    const int direct = reads_pixels_directly(p);
    /* Scratch: the int8 column (depth4 bytes, rounded up to 8), then the int16 columns of a block. */
    int32_t *cols = (int32_t *)(void *)(scratch + ((depth4 + 7) & ~(int32_t)7));
    int32_t pixel;
    int i;
    for (pixel = 0; pixel < pixels; pixel += KWS_CONV_PIXELS) {
        int8_t *out[KWS_CONV_PIXELS];
        for (i = 0; i < KWS_CONV_PIXELS; i++) {
            /* Past the last pixel, the last one again, computed twice into the same place: simpler than
             * kernels for smaller blocks. */
            const int32_t at = pixel + i < pixels ? pixel + i : pixels - 1;
            if (direct) {
                widen_into(input + at * p->in_c, cols, i, depth4);
            } else {
                column_into(p, input, at, scratch, cols, i, depth4);
            }
            out[i] = output + at * p->out_c;
        }
        pixel_block(p, mode, cols, depth4, out[0], out[1], out[2]);
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
