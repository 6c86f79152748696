/* Random identifiers from the kernel (getrandom(2)): a data directory's
 * cluster.id, a new cluster's id in the controller's metadata log. */
#ifndef STRATA_RANDOM_ID_H
#define STRATA_RANDOM_ID_H

#include <stddef.h>

#define RANDOM_ID_BYTES 16
#define RANDOM_ID_HEX_LEN (2 * RANDOM_ID_BYTES) /* characters, without the NUL */

/* Write RANDOM_ID_BYTES random bytes as lowercase hex into out, NUL-terminated
 * (fewer whole bytes when out is shorter than RANDOM_ID_HEX_LEN + 1). Blocks only at boot,
 * until the kernel's pool is initialized. 0, or STRATA_EIO (errno says why)
 * with out empty: never a predictable id. */
int random_id_hex(char *out, size_t out_len);

#endif
