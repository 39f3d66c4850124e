/* kwsgen: the audio sensor's recognition / live-stream / data-save switches
 * come from app_config.h, so the two headers cannot disagree. */
#ifndef __SENSOR_AUDIO_CONFIG_USER_H__
#define __SENSOR_AUDIO_CONFIG_USER_H__
#include "app_config.h"
#endif
