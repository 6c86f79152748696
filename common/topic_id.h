/* Topic ids: Kafka's 16-byte random UUIDs. A topic gets one when it is
 * created (by the controller, or by a standalone broker) and keeps it for
 * life; a topic deleted and created again gets a new one, so a client that
 * names a topic by id never reads the new topic's data as the old one's. */
#ifndef STRATA_TOPIC_ID_H
#define STRATA_TOPIC_ID_H

#include <stddef.h>
#include <stdint.h>

#define TOPIC_ID_BYTES 16
#define TOPIC_ID_HEX_LEN 32

/* Whether Kafka would hand out this id: not the zero id (none), not its
 * reserved metadata-topic id (0...01), and not one whose base64 starts with
 * '-' (Kafka's Uuid.randomUuid draws again then: it reads as a CLI option). */
int topic_id_usable(const uint8_t id[TOPIC_ID_BYTES]);
int topic_id_is_zero(const uint8_t id[TOPIC_ID_BYTES]);
/* A fresh usable id from the kernel's randomness (getrandom(2)); 0 or
 * STRATA_EIO, with id zero: never a predictable id. */
int topic_id_random(uint8_t id[TOPIC_ID_BYTES]);
/* 32 lowercase hex digits and a NUL (out needs TOPIC_ID_HEX_LEN + 1). */
void topic_id_hex(const uint8_t id[TOPIC_ID_BYTES], char *out);
/* Parse 32 hex digits; 0, or STRATA_ECORRUPT for anything else. */
int topic_id_parse(const char *hex, uint8_t id[TOPIC_ID_BYTES]);

#endif
