/* Clocks, read in one place: wall time (record timestamps, log-append time)
 * and monotonic time (timeouts, latency). State machines never call these;
 * their glue passes the time in. */
#ifndef STRATA_CLOCK_H
#define STRATA_CLOCK_H

#include <stdint.h>

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);

#endif
