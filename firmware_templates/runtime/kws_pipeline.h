/* The keyword-spotting pipeline: audio in, in any chunk size; classifications out.
 *
 *     audio -> front end (one window per hop) -> energy filter -> cascade
 *           -> compiled int8 model -> UNK threshold -> result callback
 *
 * Two modes, chosen by KWS_APP_CONTINUOUS in kws_app_config.h:
 *   filter      classify when the Segment Energy Threshold Filter asks, and
 *               report every classification (Classification 0 is UNK: the top
 *               probability was below its class's threshold, or a keyword came
 *               within KWS_APP_HOLDOFF hops of the last reported keyword);
 *   continuous  the filter is off; classify every KWS_APP_EVERY hops, average
 *               the last KWS_APP_AVERAGE outputs, and report a keyword only when
 *               its averaged probability reaches its threshold in KWS_APP_HITS
 *               classifications in a row and no keyword was reported in the
 *               last KWS_APP_SUPPRESS hops, so one word gives one detection.
 *
 * Each class has its own threshold (kws_app_thresholds, chosen by kwsgen train
 * for a false-alarm budget, or set in kwsgen.toml).
 *
 * All integer, no malloc; kwsgen's Python simulation (kwsgen run --engine
 * python) computes the same results. Not reentrant: the model's activation
 * buffer is static. */
#ifndef KWS_PIPELINE_H
#define KWS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "kws_app_config.h"
#include "kws_frontend.h"

typedef struct {
    uint32_t sample; /* index of the last sample of the classified window, counted from reset */
    uint32_t frame; /* that window's index */
    uint16_t classification; /* 0: UNK; 1..KWS_APP_N_CLASSES: the model's classes in order */
    uint8_t score; /* the top probability in hundredths, 0..100 */
} kws_result_t;

typedef void (*kws_result_fn)(const kws_result_t *result, void *user);

typedef struct {
    kws_frontend_t fe;
    kws_result_fn on_result;
    void *user;
    uint32_t inferences; /* since reset */
    uint32_t quiet_until; /* no keyword reported before this frame (hold-off, suppression) */
    uint8_t history[KWS_APP_AVERAGE][KWS_APP_N_CLASSES]; /* continuous mode: outputs + 128 */
    uint8_t history_next;
    uint8_t history_fill;
    uint8_t streak; /* continuous mode: classifications in a row led by streak_class */
    uint16_t streak_class;
} kws_pipeline_t;

/* Initialises the front end and the model; on_result gets every result (user is passed through). */
void kws_pipeline_init(kws_pipeline_t *p, kws_result_fn on_result, void *user);

/* Forgets all audio: the next sample is sample 0. */
void kws_pipeline_reset(kws_pipeline_t *p);

/* Pushes n samples; calls on_result for each result. Returns the inferences run. */
uint32_t kws_pipeline_process(kws_pipeline_t *p, const int16_t *x, size_t n);

/* The mean top probability sum / (256 n) of n classifications, in hundredths, rounded half
 * up: sum 160 of n = 1 (0.625) gives 63. The score every result carries. */
uint8_t kws_pipeline_score(uint32_t sum, uint32_t n);

/* The label of a classification (0: "UNK"), JSON-escaped. */
const char *kws_pipeline_label(uint16_t classification);

/* Formats the result as one JSON line ending in '\n' and a NUL:
 * {"ModelNumber":0,"Classification":1,"label":"yes","score":0.93,"sample":123456}
 * Returns its length without the NUL, or 0 when cap is too small (KWS_LINE_MAX always fits). */
size_t kws_pipeline_format(const kws_result_t *result, char *out, size_t cap);

#define KWS_LINE_MAX (96 + KWS_APP_LABEL_MAX)

#endif /* KWS_PIPELINE_H */
