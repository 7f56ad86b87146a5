// Package transfers copies partitions to their pending owners: paced,
// bounded, and resumable from a cursor after either side restarts.
//
// A donor's Manager streams one partition per transfer (an ID: partition,
// donor, receiver, epoch) to a Peer. The stream is storage's
// (Store.TransferPage): the partition's data keys in key order, each with
// its version set and, for a tombstone, its reap state (when the donor first
// held it tombstone-only); then the hints the donor holds for keys of the
// partition, target by target. Hints are sent as data: a hint is a write
// the partition's replicas should hold, so the new owner merges it as a
// replica write would; the donor keeps the hint and still delivers it to its
// target. The receiver's Receiver applies each batch with
// Store.ApplyTransfer: a merge (vclock sync), never an overwrite, together
// with the transfer's cursor in one synced Pebble batch.
//
// # Invariants
//
//   - A receiver never loses a write it held: every key becomes the sync of
//     what it held and what was sent, so writes that reached the pending
//     owner directly during the transfer are kept, and a tombstone that
//     covers a stale value there removes it (nothing deleted comes back).
//   - A tombstone keeps the earliest reap state among the receiver's and the
//     donor's, so its grace period does not restart on the new owner.
//   - The receiver's cursor is stored in the same synced batch as the keys it
//     covers: after a crash it names exactly the applied prefix of the
//     stream. It only moves forward: a batch that ends at or before it (a
//     duplicate, or one delivered late) changes nothing, and one that starts
//     past it is refused (ErrGap, with the cursor), so no key is skipped.
//   - A donor, on every (re)start of a transfer, asks the receiver for its
//     cursor and continues after it, and after each batch follows the
//     cursor the receiver answers: a kill -9 of either side repeats at most
//     the batch in flight, never the partition.
//   - A transfer is done when the receiver applied the stream's last batch;
//     then, and only then, Config.OnDone runs on the donor and the
//     Receiver's onDone on the receiver. Done is recorded with the cursor,
//     so a restarted donor finds the transfer done and sends nothing.
//   - Everything is bounded: a batch by keys and bytes (BatchKeys,
//     BatchBytes; a receiver refuses more than MaxBatchKeys or
//     MaxBatchBytes), the bytes per second of all transfers by one rate
//     limiter (Rate), the partitions streaming at once (Concurrency), the
//     transfers started (MaxJobs). Every call to a peer has CallTimeout as
//     its deadline; a failed attempt backs off (full jitter) and retries.
//   - Each transfer runs in a goroutine the Manager owns; Cancel stops one,
//     Close stops all and waits for them.
//
// # Wiring (node, later)
//
// The donor: m := transfers.New(cfg, store); for each membership Transfer
// whose first live From is this node and whose Done is false, m.Start(ID{
// Partition, From: self, To, Epoch}, peerFor(To)), where Epoch changes
// when the partition's target does (the receiver may have stopped being
// pending and missed writes; a new epoch starts from zero). Cancel what
// membership no longer lists. On the receiver, NewReceiver(store, onDone):
// onDone hands the ID to a goroutine of node's (it must not block), which
// runs one anti-entropy exchange of the partition with From and, when it
// found nothing to repair, applies membership's TransferDone(p, self) and
// gossips it (membership: the receiver reports its own copy); it Forgets
// the cursor once p settled. The donor's cfg.OnDone is for logs and
// metrics. The peer: a Connect call per method of Peer, served by the
// Receiver. Snapshot feeds `ringkv transfers`, status and metrics;
// BytesSent counts every byte sent.
package transfers
