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
#include <stddef.h>
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
KWS_INLINE void widen_into(const int8_t *src, int32_t *cols, int slot, int32_t depth4)
{
    const int8_t *end = src + (depth4 & ~(int32_t)7);
    cols += 2 * slot;
    for (; src != end; src += 8, cols += 4 * KWS_CONV_PIXELS) { /* two groups an iteration */
        const int32_t x = kws_read_s8x4(src), y = kws_read_s8x4(src + 4);
        cols[0] = kws_sxtb16_lo(x);
        cols[1] = kws_sxtb16_hi(x);
        cols[2 * KWS_CONV_PIXELS] = kws_sxtb16_lo(y);
        cols[2 * KWS_CONV_PIXELS + 1] = kws_sxtb16_hi(y);
    }
    if (depth4 & 4) {
        const int32_t x = kws_read_s8x4(src);
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
        } else if (dil_w == 1) {
            /* The row straddles an edge: padding around the one span of columns inside. */
            const int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + k_w > p->in_w ? p->in_w - ix0 : k_w;
            for (g = 0; g < row_bytes; g += 4) {
                KWS_MEMCPY4(row + g, &pad); /* a word at a time: row_bytes is whole words here */
            }
            if (kx1 > kx0) {
                copy_bytes(row + kx0 * in_c, input + iy * line + (int32_t)(ix0 + kx0) * in_c, (kx1 - kx0) * in_c);
            }
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
/* The assembly block loop's arguments: copied onto its stack, where the
 * offsets spelled out in the assembly find them (checked here). */
typedef struct {
    const int32_t *cols, *cols_end; /* sp + 0, 4 */
    const int32_t *bias, *multiplier, *rounding; /* sp + 8, 12, 16: walked a channel pair at a time */
    const int8_t *shift; /* sp + 20 */
    int8_t *out_a, *out_b, *out_c; /* sp + 24, 28, 32 */
    int32_t pairs; /* sp + 36: channel pairs left, >= 1 */
    int32_t odd; /* sp + 40: an odd number of depth groups */
} kws_block_loop_t;

KWS_STATIC_ASSERT(block_args, offsetof(kws_block_loop_t, pairs) == 36 && offsetof(kws_block_loop_t, odd) == 40 &&
                                  sizeof(void *) == 4);

/* Four depth positions of a block (KWS_CONV_GROUP): both channels' filter
 * words split by SXTB16 into r10, r11 (channel 0) and r12, lr (channel 1),
 * then each pixel's two column words by one LDRD (the columns are 8-byte
 * aligned) and four SMLADs into r2/r3 (pixel a), r4/r5 (b), r6/r7 (c). */
#define KWS_BLOCK_GROUP                       \
    "ldr    r11, [r1], #4\n\t"                \
    "sxtb16 r10, r11\n\t"                     \
    "sxtb16 r11, r11, ror #8\n\t"             \
    "ldr    lr, [r1], #4\n\t"                 \
    "sxtb16 r12, lr\n\t"                      \
    "sxtb16 lr, lr, ror #8\n\t"               \
    "ldrd   r8, r9, [r0], #8\n\t"             \
    "smlad  r2, r8, r10, r2\n\t"              \
    "smlad  r2, r9, r11, r2\n\t"              \
    "smlad  r3, r8, r12, r3\n\t"              \
    "smlad  r3, r9, lr, r3\n\t"               \
    "ldrd   r8, r9, [r0], #8\n\t"             \
    "smlad  r4, r8, r10, r4\n\t"              \
    "smlad  r4, r9, r11, r4\n\t"              \
    "smlad  r5, r8, r12, r5\n\t"              \
    "smlad  r5, r9, lr, r5\n\t"               \
    "ldrd   r8, r9, [r0], #8\n\t"             \
    "smlad  r6, r8, r10, r6\n\t"              \
    "smlad  r6, r9, r11, r6\n\t"              \
    "smlad  r7, r8, r12, r7\n\t"              \
    "smlad  r7, r9, lr, r7\n\t"

/* One channel pair's requantisation (kws_requant_fast, then SSAT) of the
 * accumulator register s with channel constant register k. */
#define KWS_BLOCK_SCALE(s, k) "add    " s ", " s ", " s "\n\t" \
                              "smmulr " s ", " s ", " k "\n\t"
#define KWS_BLOCK_ROUND(s, k) "add    r10, " k ", " s ", lsl #1\n\t" \
                              "sub    " s ", r10, " s ", lsr #31\n\t"
#define KWS_BLOCK_SHIFT(s, k) "asr    " s ", " s ", " k "\n\t" \
                              "ssat   " s ", #8, " s "\n\t"
#define KWS_BLOCK_STORE(s0, s1, offset) "ldr    r0, [sp, #" offset "]\n\t" \
                                        "strb   " s0 ", [r0], #1\n\t"      \
                                        "strb   " s1 ", [r0], #1\n\t"      \
                                        "str    r0, [sp, #" offset "]\n\t"

/* pixel_block in KWS_REQUANT_FAST_INT8 mode for args->pairs whole channel
 * pairs, filter from w: two depth groups an iteration (an odd count enters at
 * the second), then per channel pair kws_requant_fast (SMMULR of 2 * acc, the
 * rounding constant, the sign fix, the shift) and SSAT for the six outputs.
 * 24 instructions a group (24 multiply-accumulates) and 71 a block around
 * them, where GCC 12 spills to 86. A naked function, so that it has all 14
 * registers whatever the build's flags: r1 the filter, r0 the columns, then
 * (after the group loop) the argument pointers; r2-r7 the accumulators. */
KWS_NAKED void pixel_block_int8(const kws_block_loop_t *args KWS_ASM_ARG, const int8_t *w KWS_ASM_ARG)
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "ldm    r0, {r2-r12}\n\t"
        "push   {r2-r12}\n\t"
        "2:\n\t"
        "ldr    r0, [sp, #0]\n\t"
        "ldr    r8, [sp, #8]\n\t"
        "ldrd   r2, r3, [r8]\n\t" /* both channels' biases into each pixel's pair of accumulators */
        "ldrd   r4, r5, [r8]\n\t"
        "ldrd   r6, r7, [r8], #8\n\t"
        "str    r8, [sp, #8]\n\t"
        "ldr    r8, [sp, #40]\n\t"
        "cmp    r8, #0\n\t"
        "bne    3f\n\t"
        "1:\n\t" KWS_BLOCK_GROUP "3:\n\t" KWS_BLOCK_GROUP
        "ldr    r8, [sp, #4]\n\t"
        "cmp    r0, r8\n\t"
        "bne    1b\n\t"
        "ldr    r0, [sp, #12]\n\t"
        "ldrd   r8, r9, [r0], #8\n\t"
        "str    r0, [sp, #12]\n\t"
        KWS_BLOCK_SCALE("r2", "r8") KWS_BLOCK_SCALE("r4", "r8") KWS_BLOCK_SCALE("r6", "r8")
        KWS_BLOCK_SCALE("r3", "r9") KWS_BLOCK_SCALE("r5", "r9") KWS_BLOCK_SCALE("r7", "r9")
        "ldr    r0, [sp, #16]\n\t"
        "ldrd   r8, r9, [r0], #8\n\t"
        "str    r0, [sp, #16]\n\t"
        KWS_BLOCK_ROUND("r2", "r8") KWS_BLOCK_ROUND("r4", "r8") KWS_BLOCK_ROUND("r6", "r8")
        KWS_BLOCK_ROUND("r3", "r9") KWS_BLOCK_ROUND("r5", "r9") KWS_BLOCK_ROUND("r7", "r9")
        "ldr    r0, [sp, #20]\n\t"
        "ldrsb  r8, [r0], #1\n\t"
        "ldrsb  r9, [r0], #1\n\t"
        "str    r0, [sp, #20]\n\t"
        KWS_BLOCK_SHIFT("r2", "r8") KWS_BLOCK_SHIFT("r4", "r8") KWS_BLOCK_SHIFT("r6", "r8")
        KWS_BLOCK_SHIFT("r3", "r9") KWS_BLOCK_SHIFT("r5", "r9") KWS_BLOCK_SHIFT("r7", "r9")
        KWS_BLOCK_STORE("r2", "r3", "24") KWS_BLOCK_STORE("r4", "r5", "28") KWS_BLOCK_STORE("r6", "r7", "32")
        "ldr    r0, [sp, #36]\n\t"
        "subs   r0, r0, #1\n\t"
        "str    r0, [sp, #36]\n\t"
        "bne    2b\n\t"
        "add    sp, sp, #44\n\t"
        "pop    {r4-r11, pc}\n\t");
}
#undef KWS_BLOCK_GROUP
#undef KWS_BLOCK_SCALE
#undef KWS_BLOCK_ROUND
#undef KWS_BLOCK_SHIFT
#undef KWS_BLOCK_STORE
#endif

/* One block of pixels: every pair of output channels, from channel `first`
 * (even) on, for the three pixels whose outputs start at out_a, out_b and
 * out_c. For an odd channel count the generator pads the filter, bias,
 * multiplier and shift arrays with one more channel, which is computed and
 * not stored. One channel index rather than a pointer per array keeps few
 * values alive around the dot product. */
KWS_INLINE void pixel_block(const kws_conv_params_t *p, int mode, const int32_t *cols, int32_t depth4, int8_t *out_a,
                            int8_t *out_b, int8_t *out_c, int first)
{
    const int8_t *w = (const int8_t *)p->filter + (int32_t)first * depth4;
    const int32_t *bias = p->bias, *mult = p->multiplier, *rounding = p->rounding;
    const int8_t *shift = p->shift;
    const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t *cols_end = cols + depth4 / 4 * 2 * KWS_CONV_PIXELS;
    const int channels = p->out_c;
    int c;
    for (c = first; c < channels; c += 2) {
        kws_block_sums_t s;
        s.s0a = s.s0b = s.s0c = bias[c];
        s.s1a = s.s1b = s.s1c = bias[c + 1];
        {
            const int32_t *x;
            for (x = cols; x != cols_end; x += 2 * KWS_CONV_PIXELS, w += 8) {
                KWS_CONV_GROUP(w, x, s);
            }
        }
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

/* The whole channel pairs of a block by the assembly loop where it applies;
 * returns the first channel left to pixel_block (out_c when none is). */
KWS_INLINE int first_by_asm(const kws_conv_params_t *p, int mode, const int32_t *cols, int32_t depth4,
                            int8_t *const out[KWS_CONV_PIXELS])
{
#if KWS_NN_ASM
    const int pairs = p->out_c >> 1;
    if (mode == KWS_REQUANT_FAST_INT8 && pairs > 0) {
        const kws_block_loop_t args = {cols,   cols + depth4 / 4 * 2 * KWS_CONV_PIXELS,
                                       p->bias, p->multiplier,
                                       p->rounding, p->shift,
                                       out[0], out[1],
                                       out[2], pairs,
                                       (depth4 >> 2) & 1};
        pixel_block_int8(&args, (const int8_t *)p->filter);
        return pairs * 2;
    }
#else
    (void)p, (void)mode, (void)cols, (void)depth4, (void)out;
#endif
    return 0;
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
        pixel_block(p, mode, cols, depth4, out[0], out[1], out[2], first_by_asm(p, mode, cols, depth4, out));
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
