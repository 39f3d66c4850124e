/* Front-end driver shared by the host tool and the Cortex-M4 build: reads raw
 * int16 little-endian audio, streams it through kws_frontend in a chosen chunk
 * pattern and writes one binary record per window (see fe_driver.c).
 *
 * argv: --in FILE --out FILE [--minmax FILE] [--first N] [--chunks N,N,...]
 *       [--filter ENABLED,THRESHOLD,DELAY,BACKOFF] [--mark] */
#ifndef FE_DRIVER_H
#define FE_DRIVER_H

#include "host_io.h"

#endif /* FE_DRIVER_H */
