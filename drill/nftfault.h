/* Network faults with nftables (as root; drill/netfault.h chooses this or
 * the fault proxy) between the nodes of a local cluster (drill/cluster.h's
 * separate-addresses layout): an nftables table of this process drops the
 * packets between two loopback addresses on the cluster's ports, both ways or
 * one way, until healed. Needs root and the nft tool; the table is removed
 * at close, and tables of drills that died are swept at open. */
#ifndef STRATA_DRILL_NFTFAULT_H
#define STRATA_DRILL_NFTFAULT_H

#include <stddef.h>

struct nftfault {
  char table[64];
  int ports[2];
  int open;
  char why[256]; /* why nftfault_open failed */
};

/* Make the (empty) table for a cluster on ports port and cport. 0, or -1
 * with nf->why set (not root, no nft, nftables refused). */
int nftfault_open(struct nftfault *nf, int port, int cport);
/* Drop traffic from a to b (and from b to a unless one_way). 0 or -1. */
int nftfault_cut(struct nftfault *nf, const char *a, const char *b, int one_way);
/* Remove every cut. 0 or -1. */
int nftfault_heal(struct nftfault *nf);
void nftfault_close(struct nftfault *nf);

#endif
