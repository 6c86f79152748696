#include "drill/netfault.h"

#include <stdio.h>
#include <string.h>

#include "drill/proc.h"

int netfault_kind_parse(const char *name) {
  if (!strcmp(name, "auto")) return NETFAULT_AUTO;
  if (!strcmp(name, "nft")) return NETFAULT_NFT;
  if (!strcmp(name, "proxy")) return NETFAULT_PROXY;
  return -1;
}

/* A proxy listener on every node's advertised address, forwarding to the
 * private port the node will bind on the same address. */
static int proxy_open(struct netfault *nf, struct tcluster *c) {
  c->bind_port = proc_free_port();
  c->bind_cport = proc_free_port();
  nf->proxy = faultproxy_new();
  if (c->bind_port <= 0 || c->bind_cport <= 0 || !nf->proxy) {
    snprintf(nf->why, sizeof nf->why, "fault proxy: no free port or out of memory");
    return -1;
  }
  for (int id = 0; id <= c->n; id++) {
    char host[32];
    tcluster_host(c, id, host, sizeof host);
    if (faultproxy_listen(nf->proxy, host, id ? c->port : c->cport, host,
                          id ? c->bind_port : c->bind_cport, nf->why, sizeof nf->why) < 0)
      return -1;
  }
  if (faultproxy_start(nf->proxy)) {
    snprintf(nf->why, sizeof nf->why, "fault proxy: cannot start its thread");
    return -1;
  }
  return 0;
}

int netfault_open(struct netfault *nf, enum netfault_kind want, struct tcluster *c) {
  memset(nf, 0, sizeof *nf);
  if (!c->base) {
    snprintf(nf->why, sizeof nf->why, "network faults need the separate-addresses layout");
    return -1;
  }
  if (want != NETFAULT_PROXY && !nftfault_open(&nf->nft, c->port, c->cport)) {
    nf->kind = NETFAULT_NFT;
    snprintf(nf->what, sizeof nf->what, "network faults: nftables (root)");
    return 0;
  }
  if (want == NETFAULT_NFT) {
    snprintf(nf->why, sizeof nf->why, "--net nft: %.200s", nf->nft.why);
    return -1;
  }
  if (proxy_open(nf, c)) {
    faultproxy_free(nf->proxy);
    nf->proxy = NULL;
    c->bind_port = c->bind_cport = 0;
    return -1;
  }
  nf->kind = NETFAULT_PROXY;
  snprintf(nf->what, sizeof nf->what, "network faults: fault proxy on loopback (%.100s)",
           want == NETFAULT_PROXY ? "--net proxy" : nf->nft.why);
  return 0;
}

int netfault_cut(struct netfault *nf, const char *a, const char *b, int one_way) {
  if (nf->proxy) return faultproxy_cut(nf->proxy, a, b, one_way);
  return nftfault_cut(&nf->nft, a, b, one_way);
}

int netfault_heal(struct netfault *nf) {
  if (nf->proxy) {
    faultproxy_heal(nf->proxy);
    return 0;
  }
  return nftfault_heal(&nf->nft);
}

void netfault_close(struct netfault *nf) {
  faultproxy_free(nf->proxy);
  nf->proxy = NULL;
  nftfault_close(&nf->nft);
}
