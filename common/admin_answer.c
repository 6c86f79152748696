#include "common/admin_answer.h"

#include <string.h>

int admin_is_path(const struct http_request *req, const char *p) {
  size_t n = strlen(p);
  return req->path_len == n && !memcmp(req->path, p, n);
}

void admin_json_broker(struct textbuf *t, int first, int32_t id, const char *host, unsigned port,
                       const char *rack, int64_t epoch, int fenced, const char *admin) {
  textbuf_printf(t, "%s{\"id\":%d,\"host\":", first ? "" : ",", id);
  textbuf_json_str(t, host);
  textbuf_printf(t, ",\"port\":%u,\"rack\":", port);
  textbuf_json_str(t, rack);
  textbuf_printf(t, ",\"epoch\":%lld,\"fenced\":%s,\"admin\":", (long long)epoch,
                 fenced ? "true" : "false");
  textbuf_json_str(t, admin);
  textbuf_puts(t, "}");
}

void admin_answer_body(struct textbuf *t, struct http_answer *out) {
  if (textbuf_failed(t)) {
    textbuf_free(t);
    out->status = 500;
    out->content_type = "text/plain; charset=utf-8";
    out->body = NULL;
    out->len = 0;
    return;
  }
  out->body = textbuf_take(t, &out->len);
}
