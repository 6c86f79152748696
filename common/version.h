/* The release, as servers report it (strata_build_info, ApiVersions). */
#ifndef STRATA_VERSION_H
#define STRATA_VERSION_H

#define STRATA_VERSION "0.1.0"

#endif
