// Package node is one running ringkv server: storage (package storage),
// gossip membership, the ring, the quorum coordinator, hinted handoff,
// anti-entropy and the Connect handlers, wired together. The algorithms it
// drives (vclock, ring, quorum, reap) are pure; the disk is package
// storage's.
//
// Invariants:
//   - Requests are routed by the agreed ring (package membership;
//     agreed.go), never by the members gossip happens to report: a member
//     that crashes or stops stays in the ring (an outage is not a
//     departure). The ring is persisted, synced, before the node routes by
//     it; a node that sees a peer advertise another digest pulls that ring
//     (bounded, with a deadline) and adopts Merge+Settle, so nodes that
//     have heard from each other since the last change route alike.
//   - A key's owners serve reads and count toward R and W; its pending
//     owners receive every write and count toward nothing, are not
//     hinted and run no exchange of the partition; while a partition has
//     a pending owner, no node reaps its tombstones.
//   - A write is coordinated only by a replica (an owner) of its key in the
//     coordinator's view. Any other node forwards it once, as a unary
//     ReplicaService.Coordinate call carrying the remaining deadline, to
//     the first live replica; the receiver never forwards again, and
//     refuses (FailedPrecondition, marked Ringkv-Not-Replica) a key it is
//     not a replica of, before storing anything, so the forwarder may try
//     the next. With no live replica the write fails: a node never counts
//     its own copy of a key it does not replicate toward W.
//   - Every request has a deadline, and every replica call carries it; a
//     replica operation on a stream carries the time it has left, and the
//     receiver does not start it after that.
//   - Foreground replica operations for a peer ride one stream to it
//     (stream.go), answered by id; at most two batches are in flight.
//     Each operation fails at its own deadline; a stream is torn down
//     (failing what is still pending) only once its peer is stuck: every
//     operation in flight unanswered opstream.DefaultStall (5 s) past its
//     deadline, and nothing else answered for as long. A slow peer never
//     fails an operation that still has time. Background work has its own
//     connections.
//   - Writes are acknowledged only once durable, and a dot is never issued
//     twice: package storage's invariants.
//   - Every size and queue is bounded: key length, value size, siblings per
//     key, message size on every handler, operations pending and in flight
//     per stream, and client requests in flight per node (beyond which
//     requests are shed with ResourceExhausted). An anti-entropy listing
//     of leaf keys comes in pages bounded in keys and bytes, whatever the
//     partition's size.
//   - An anti-entropy exchange counts (its partition exchanged, its peer
//     perhaps verified for reaping) only if it ran to the end; one cut
//     short for any reason is counted as incomplete and changes nothing
//     else. Tombstone-against-absent differences take no repair budget.
//   - A tombstone is reaped only by the rule of package reap: after the
//     grace period, once an exchange started after it has verified every
//     other primary.
//   - A served stream holds at most opstream.MaxInFlight (1,024)
//     operations, each from when it is read until its result is sent (not
//     merely queued). A sender that stops reading its results stops its
//     stream being read and costs at most that many results (1,024 Gets of
//     a 256 KiB value: about 264 MiB); other streams and calls go on.
//   - Every handler, served streams included, ends before Close goes on
//     to close what it uses (inflight.go).
//   - Close returns by its context's deadline whatever storage does; what
//     is left of the shutdown goes on in the background.
package node
