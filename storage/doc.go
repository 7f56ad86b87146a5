// Package storage is one node's Pebble database: the version set of every
// key it replicates, the hints it keeps for other replicas, the index of
// tombstones, the Merkle trees (kept in memory, rebuilt at start) and the
// node's small state, behind the Store type. It is the only package that
// touches the disk; tests crash it (Pebble's crash-clone filesystem),
// fill it (internal/faults.Disk) and run it without a network.
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
//   - A hint is kept for the hint window after the newest write merged
//     into it (package hintwindow), then dropped. Each hint has an entry in an
//     index by creation time, written and deleted in the same batch as the
//     hint, so expiry reads only the hints it drops; delivery reads hints
//     a page at a time and holds no iterator and no store lock while it
//     waits on the rate limiter, a send slot or a peer.
//   - The disk never fills under Pebble. Free space is probed by a goroutine
//     the store owns and the bytes Pebble writes in between are counted, so
//     no write (client, replica or hint) is admitted into the reserve and
//     none costs a syscall to admit; refused writes are ResourceExhausted.
//     Reads, hint delivery and deletes are never refused. The emergency
//     ballast, released when less than half the reserve is free (at start
//     or while running), counts toward the reserve until it is back
//     (disk.go).
//   - Pebble's error log is rate-limited per kind of error.
//   - A partition transfer (TransferPage, ApplyTransfer; package transfers)
//     merges each batch as replica writes do, under all its keys' locks
//     until the batch is applied (never across its fsync), and stores the
//     transfer's cursor in the same Pebble batch, so a crash keeps both or
//     neither; a tombstone keeps the earliest reap state sent or held.
package storage
