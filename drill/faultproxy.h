/* A userspace TCP fault proxy: network faults between the nodes of a local
 * cluster where nftables cannot be used (not root). Each node's advertised
 * address is a proxy listener that forwards to the node's private address.
 * Every node's own connections leave from its own loopback address
 * (drill/cluster.h's separate-addresses layout), so the source address of an
 * accepted connection names the node it comes from (127.0.0.1: a client).
 *
 * A cut from a to b models dropped packets: bytes from a to b are held (not
 * delivered, the connection not closed) and a new connection between a and b
 * is accepted but not forwarded (its SYN "lost") until healed; then the held
 * bytes go through and held connections are made. Flow control does the rest:
 * a sender whose bytes are held fills its socket buffer and blocks, as it
 * would waiting for acknowledgements that never come.
 *
 * The proxy runs in a thread of its own (poll loop); the cut table is shared
 * under a mutex, and cut/heal return once the loop applies them. */
#ifndef STRATA_DRILL_FAULTPROXY_H
#define STRATA_DRILL_FAULTPROXY_H

#include <stddef.h>

#define FAULTPROXY_LISTENERS_MAX 16
#define FAULTPROXY_CONNS_MAX 256  /* more are accepted and closed at once */
#define FAULTPROXY_CUTS_MAX 128   /* one-way (from, to) pairs */
#define FAULTPROXY_BUF (32 * 1024) /* bytes held per direction of a connection */

struct faultproxy;

/* An idle proxy (no listener, no thread), or NULL (out of memory or pipes). */
struct faultproxy *faultproxy_new(void);
/* Before faultproxy_start: listen on host:port (0: any free port) and forward
 * each connection to to_host:to_port. The port listened on, or -1 with why. */
int faultproxy_listen(struct faultproxy *fp, const char *host, int port, const char *to_host,
                      int to_port, char *why, size_t why_len);
/* Start the forwarding thread. 0 or -1. */
int faultproxy_start(struct faultproxy *fp);
/* Hold traffic from address a to address b (and from b to a unless one_way).
 * 0, or -1 (bad address, FAULTPROXY_CUTS_MAX cuts). */
int faultproxy_cut(struct faultproxy *fp, const char *a, const char *b, int one_way);
/* Remove every cut: held bytes and held connections go through. */
void faultproxy_heal(struct faultproxy *fp);
/* Stop the thread, close every socket, free everything. NULL is fine. */
void faultproxy_free(struct faultproxy *fp);

#endif
