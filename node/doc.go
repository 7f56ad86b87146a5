// Package node is one running ringkv server: Pebble storage, gossip
// membership, the ring, the quorum coordinator and the Connect handlers,
// wired together. This is where ringkv's I/O lives; the algorithms it
// drives (vclock, ring, quorum) are pure.
//
// Invariants:
//   - A write is acknowledged only after it is synced to Pebble's WAL.
//     Concurrent writes share fsyncs; a per-key lock is held for the
//     read-modify-write only, never across an fsync.
//   - A dot is never issued twice. Each opening of a data directory is a
//     new actor (an epoch per start, as Riak's fix for KV679), so a crash
//     before a write was synced, a restored backup or a copied directory
//     cannot reissue a dot; within one opening a single counter numbers
//     every key's writes, so a key reaped and written again gets dots
//     above any its tombstone's clock held. ringkv_dot_conflicts_total
//     counts merges that nevertheless met one dot with two contents.
//   - A data directory remembers the cluster settings (N, partitions) it
//     was created with and refuses to open under different ones.
//   - Ring membership only grows while a node runs: a member that crashes
//     or stops stays in the ring (an outage is not a departure).
//   - A write is coordinated only by a replica of its key in the
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
//   - A hint is kept for the hint window after the newest write merged
//     into it (node/hintwindow), then dropped. Each hint has an entry in an
//     index by creation time, written and deleted in the same batch as the
//     hint, so expiry reads only the hints it drops; delivery reads hints
//     a page at a time and holds no iterator and no store lock while it
//     waits on the rate limiter, a send slot or a peer.
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
//   - The disk never fills under Pebble. Free space is probed by a goroutine
//     the store owns and the bytes Pebble writes in between are counted, so
//     no write (client, replica or hint) is admitted into the reserve and
//     none costs a syscall to admit; refused writes are ResourceExhausted.
//     Reads, hint delivery and deletes are never refused. The emergency
//     ballast, released when less than half the reserve is free (at start
//     or while running), counts toward the reserve until it is back
//     (disk.go).
//   - Close returns by its context's deadline whatever storage does; what
//     is left of the shutdown goes on in the background.
//   - Pebble's error log is rate-limited per kind of error.
package node
