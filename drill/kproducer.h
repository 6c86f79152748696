/* The drill's writes through a real Kafka client (librdkafka, `strata drill
 * --client kafka`): an idempotent acks=all producer whose delivery reports
 * go to the same callback shape as libstrata's on_delivery, so both feed one
 * history. librdkafka's own log goes to a file in the drill's folder. */
#ifndef STRATA_DRILL_KPRODUCER_H
#define STRATA_DRILL_KPRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include "client/strata.h"

struct kproducer;

/* One delivery report: the write's id (given to kproducer_send), its
 * partition, and its offset, or err (a librdkafka error name) when it
 * failed; err is NULL on success. */
typedef void (*kproducer_dr_fn)(void *arg, uint64_t id, int32_t partition, int64_t offset,
                                const char *err);

/* NULL and a reason in err when librdkafka refuses the configuration.
 * sec: how to reach the brokers (NULL: plaintext). */
struct kproducer *kproducer_new(const char *bootstrap, const strata_security *sec,
                                const char *log_path, kproducer_dr_fn dr, void *arg, char *err,
                                size_t err_len);
/* Copy s into a librdkafka configuration under librdkafka's own names
 * (security.protocol, ssl.*, sasl.*); 0 or -1 with err set. */
struct rd_kafka_conf_s;
int kproducer_conf_security(struct rd_kafka_conf_s *conf, const strata_security *s, char *err,
                            size_t err_len);
/* Queue one record for partition; a record librdkafka will not queue is
 * reported at once through dr as failed. */
void kproducer_send(struct kproducer *k, const char *topic, int32_t partition, const void *value,
                    size_t len, uint64_t id);
/* Serve delivery reports, waiting up to ms for the first. */
void kproducer_poll(struct kproducer *k, int ms);
/* Records queued or in flight. */
int kproducer_outstanding(struct kproducer *k);
/* Wait up to ms for every record's report. */
void kproducer_flush(struct kproducer *k, int ms);
void kproducer_free(struct kproducer *k);

#endif
