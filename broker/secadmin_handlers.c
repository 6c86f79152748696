/* Users and ACLs on a broker: every request goes to the controller, which
 * keeps them (the glue relays it and holds a change's answer until this
 * broker's image has it). A standalone broker has no controller and so no
 * users or ACLs: it says so. */
#include "broker/broker.h"
#include "broker/handlers.h"
#include "common/errors.h"

void handle_security_admin(struct broker *b, const Strata__Header *req, uint8_t *payload,
                           uint32_t len, struct response *r) {
  (void)payload, (void)len;
  if (b->cluster) {
    r->forward = 1;
    return;
  }
  response_error(r, req, STRATA_EINVALID_REQUEST,
                 "users and ACLs are kept by the controller: this broker runs standalone "
                 "(no controller configured)");
}
