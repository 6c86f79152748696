#include "drill/kproducer.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kproducer {
  rd_kafka_t *rk;
  kproducer_dr_fn dr;
  void *arg;
  FILE *log;
};

/* librdkafka's delivery report: the record's opaque is its write id. */
static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  struct kproducer *k = opaque;
  k->dr(k->arg, (uint64_t)(uintptr_t)m->_private, m->partition, m->offset,
        m->err ? rd_kafka_err2name(m->err) : NULL);
}

/* librdkafka logs from its own threads; to the drill's folder, not the
 * operator's terminal. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  struct kproducer *k = rd_kafka_opaque(rk);
  if (k && k->log) fprintf(k->log, "%d %s %s\n", level, fac, buf);
}

int kproducer_conf_security(rd_kafka_conf_t *conf, const strata_security *s, char *err,
                            size_t err_len) {
  if (!s || s->protocol == STRATA_SECURITY_PLAINTEXT) return 0;
  const char *set[][2] = {
      {"security.protocol", strata_security_protocol_name(s->protocol)},
      {"ssl.ca.location", s->ssl_ca_location},
      {"ssl.certificate.location", s->ssl_certificate_location},
      {"ssl.key.location", s->ssl_key_location},
      {"ssl.endpoint.identification.algorithm", s->ssl_verify_hostname ? "https" : "none"},
      {"sasl.mechanism", s->sasl_mechanism},
      {"sasl.username", s->sasl_username},
      {"sasl.password", s->sasl_password},
  };
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
    if (set[i][1][0] && rd_kafka_conf_set(conf, set[i][0], set[i][1], err, err_len) != RD_KAFKA_CONF_OK)
      return -1;
  return 0;
}

struct kproducer *kproducer_new(const char *bootstrap, const strata_security *sec,
                                const char *log_path, kproducer_dr_fn dr, void *arg, char *err,
                                size_t err_len) {
  struct kproducer *k = calloc(1, sizeof *k);
  if (!k) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  k->dr = dr, k->arg = arg;
  if (log_path && (k->log = fopen(log_path, "a"))) setvbuf(k->log, NULL, _IOLBF, 0);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* the same promises as the native producer's: acks=all, idempotent,
   * retried for up to two minutes per record, a request given up after 5 s
   * (socket.timeout.ms: librdkafka's request.timeout.ms is only the ack
   * timeout the broker is asked to keep, and with the default 60 s socket
   * timeout a paused leader holds its partitions' records for a minute) */
  static const char *const set[][2] = {
      {"enable.idempotence", "true"},  {"acks", "all"},
      {"linger.ms", "1"},              {"request.timeout.ms", "5000"},
      {"socket.timeout.ms", "5000"},
      {"retry.backoff.ms", "20"},      {"message.timeout.ms", "120000"},
      {"queue.buffering.max.messages", "100000"},
      {"topic.metadata.refresh.interval.ms", "1000"},
      {"client.id", "strata-drill"},
  };
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, err_len) != RD_KAFKA_CONF_OK ||
      kproducer_conf_security(conf, sec, err, err_len))
    goto fail;
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
    if (rd_kafka_conf_set(conf, set[i][0], set[i][1], err, err_len) != RD_KAFKA_CONF_OK) goto fail;
  rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
  rd_kafka_conf_set_log_cb(conf, on_log);
  rd_kafka_conf_set_opaque(conf, k);
  k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, err_len);
  if (!k->rk) goto fail; /* rd_kafka_new keeps conf only when it succeeds */
  return k;
fail:
  rd_kafka_conf_destroy(conf);
  if (k->log) fclose(k->log);
  free(k);
  return NULL;
}

void kproducer_send(struct kproducer *k, const char *topic, int32_t partition, const void *value,
                    size_t len, uint64_t id) {
  rd_kafka_resp_err_t e = rd_kafka_producev(
      k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_OPAQUE((void *)(uintptr_t)id), RD_KAFKA_V_END);
  if (e) k->dr(k->arg, id, partition, -1, rd_kafka_err2name(e));
}

void kproducer_poll(struct kproducer *k, int ms) { rd_kafka_poll(k->rk, ms); }

int kproducer_outstanding(struct kproducer *k) { return rd_kafka_outq_len(k->rk); }

void kproducer_flush(struct kproducer *k, int ms) { rd_kafka_flush(k->rk, ms); }

void kproducer_free(struct kproducer *k) {
  if (!k) return;
  rd_kafka_destroy(k->rk); /* reports still queued are dropped unseen, as after a flush */
  if (k->log) fclose(k->log);
  free(k);
}
