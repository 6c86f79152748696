/* Network faults between the nodes of a local cluster (drill/cluster.h's
 * separate-addresses layout), made one of two ways: nftables rules
 * (drill/nftfault.h) where this process is root and nft works, else a fault
 * proxy on loopback (drill/faultproxy.h) that the cluster's advertised
 * addresses point at. The drill cuts and heals the same way with either. */
#ifndef STRATA_DRILL_NETFAULT_H
#define STRATA_DRILL_NETFAULT_H

#include <stddef.h>

#include "drill/cluster.h"
#include "drill/faultproxy.h"
#include "drill/nftfault.h"

enum netfault_kind { NETFAULT_AUTO, NETFAULT_NFT, NETFAULT_PROXY };

struct netfault {
  enum netfault_kind kind; /* the one in use once open */
  struct nftfault nft;
  struct faultproxy *proxy; /* owned */
  char what[160];           /* "network faults: ..." for the drill's output */
  char why[256];            /* why netfault_open failed */
};

/* "auto", "nft" or "proxy" to a kind; -1 for anything else. */
int netfault_kind_parse(const char *name);
/* Choose the way (want: NETFAULT_AUTO tries nftables, then the proxy) and
 * set it up for cluster c, which must be initialized with a base address
 * and not started yet: with the proxy its nodes get private ports to bind
 * and the proxy listens on the advertised ones. 0, or -1 with nf->why. */
int netfault_open(struct netfault *nf, enum netfault_kind want, struct tcluster *c);
/* Drop (hold) traffic from address a to address b, and from b to a unless
 * one_way. 0 or -1. */
int netfault_cut(struct netfault *nf, const char *a, const char *b, int one_way);
/* Remove every cut. 0 or -1. */
int netfault_heal(struct netfault *nf);
/* Undo open (nothing when it was not open). */
void netfault_close(struct netfault *nf);

#endif
