/* The console page (console/index.html), embedded at build time by
 * tools/embed; served at / on the admin listener. */
#ifndef STRATA_CONSOLE_H
#define STRATA_CONSOLE_H

#include <stddef.h>

extern const char console_html[];
extern const size_t console_html_len;

#endif
