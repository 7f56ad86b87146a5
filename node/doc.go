// Package node is one running ringkv server: Pebble storage, gossip
// membership, the ring, the quorum coordinator and the Connect handlers,
// wired together. This is where ringkv's I/O lives; the algorithms it
// drives (vclock, ring, quorum) are pure.
//
// Invariants:
//   - A write is acknowledged only after it is synced to Pebble's WAL.
//     Concurrent writes share fsyncs; a per-key lock is held for the
//     read-modify-write only, never across an fsync.
//   - A data directory mints its actor id once, on first start. A wiped
//     directory is a new actor, so version counters never restart under an
//     old id.
//   - A data directory remembers the cluster settings (N, partitions) it
//     was created with and refuses to open under different ones.
//   - Ring membership only grows while a node runs: a member that crashes
//     or stops stays in the ring (an outage is not a departure).
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
//   - Every size and queue is bounded: key length, value size, siblings per
//     key, message size on every handler, operations pending and in flight
//     per stream, and client requests in flight per node (beyond which
//     requests are shed with ResourceExhausted).
//   - A served stream holds at most opstream.MaxInFlight (1,024)
//     operations, each from when it is read until its result is sent (not
//     merely queued). A sender that stops reading its results stops its
//     stream being read and costs at most that many results (1,024 Gets of
//     a 256 KiB value: about 264 MiB); other streams and calls go on.
//   - Served streams end before Close goes on to close what their
//     operations use.
package node
