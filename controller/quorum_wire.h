/* The controller quorum's messages on the wire: the core's struct
 * quorum_msg (controller/quorum.h) to and from the protobuf QuorumMessage
 * of proto/strata.proto, and the DescribeQuorum answer.
 *
 * Why the core speaks C structs and not the protobuf types: the core must
 * not allocate per event, and protobuf-c's unpacked trees are malloc'd. A
 * simulator step would also pay a pack and unpack per message. The records
 * never go through protobuf (DESIGN.md: batches are the frame's payload),
 * so the core sees them only as spans of (offset, epoch) that this file
 * reads from the batches' headers. The mapping is thin, and it is the one
 * place where bad bytes from a peer become an error code.
 *
 * Encoding fills storage the caller owns (struct quorum_wire), with no
 * allocation. The caller packs w->msg into a frame and attaches the
 * payload: for a fetch answer, the RecordBatch v2 batches of the offsets
 * its spans name, with their partition leader epochs; for a snapshot
 * answer, the chunk. */
#ifndef STRATA_QUORUM_WIRE_H
#define STRATA_QUORUM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "controller/quorum.h"
#include "proto/strata.pb-c.h"

struct quorum_wire {
  Strata__QuorumMessage msg;
  Strata__ReplicaKey src, dst;
  uint8_t src_dir[QUORUM_DIR_LEN], dst_dir[QUORUM_DIR_LEN];
  Strata__QuorumVoteRequest vote_req;
  Strata__QuorumVoteResponse vote_resp;
  Strata__BeginQuorumEpochRequest begin_req;
  Strata__BeginQuorumEpochResponse begin_resp;
  Strata__EndQuorumEpochRequest end_req;
  Strata__EndQuorumEpochResponse end_resp;
  int32_t successors[QUORUM_VOTERS_MAX];
  Strata__QuorumFetchRequest fetch_req;
  Strata__QuorumFetchResponse fetch_resp;
  Strata__DivergingEpoch diverging;
  Strata__SnapshotId snapshot;
  Strata__FetchSnapshotRequest snap_req;
  Strata__FetchSnapshotResponse snap_resp;
  char cluster_id[64];
};

/* Fill w (valid while w lives) with m, from the cluster cluster_id (at
 * most 63 bytes kept). */
void quorum_wire_encode(const struct quorum_msg *m, const char *cluster_id, struct quorum_wire *w);

/* A message as it arrived at node `to`, with the frame's payload, into m.
 * 0, or STRATA_EINCONSISTENT_CLUSTER_ID (another cluster's), or
 * STRATA_EINVALID_REQUEST: no body, a missing key, a directory id that is
 * not 16 bytes, too many successors, or a fetch answer whose payload is not
 * whole, CRC-correct, contiguous batches in at most QUORUM_SPANS_MAX epoch
 * runs (records beside a divergence or a snapshot id, too). m->error holds
 * the answer's error code mapped to a negative STRATA_E*. */
int quorum_wire_decode(const Strata__QuorumMessage *w, const char *cluster_id, int32_t to,
                       const uint8_t *payload, size_t payload_len, struct quorum_msg *m);

/* DescribeQuorum's answer (KIP-595) from quorum_describe's. */
struct quorum_wire_describe {
  Strata__DescribeQuorumResponse resp;
  Strata__QuorumReplicaState states[QUORUM_VOTERS_MAX + QUORUM_OBSERVERS_MAX];
  Strata__QuorumReplicaState *voters[QUORUM_VOTERS_MAX], *observers[QUORUM_OBSERVERS_MAX];
  Strata__ReplicaKey keys[QUORUM_VOTERS_MAX + QUORUM_OBSERVERS_MAX];
  uint8_t dirs[QUORUM_VOTERS_MAX + QUORUM_OBSERVERS_MAX][QUORUM_DIR_LEN];
};
void quorum_wire_describe(const struct quorum_description *d, struct quorum_wire_describe *w);

#endif
