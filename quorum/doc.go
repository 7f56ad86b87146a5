// Package quorum coordinates reads and writes across a key's replicas.
//
// It has two layers. Tracker and Place are pure: told "replica x answered"
// or "replica x failed", Tracker says whether a quorum is met, still
// pending, or can no longer be met; Place decides, from the ring walk and
// who is healthy, where each primary's copy of a write goes. Coordinator
// drives the fan-out: it reaches replicas only through the Replicas
// interface, so the transport underneath can change without touching the
// decision logic.
//
// Invariants:
//   - A key's replicas are the first min(N, owners) owners of its Route
//     (from a plain ring walk, WalkRoute: its first N nodes). R and W are
//     within 1..that many (0 asks for a majority of them); anything else
//     is refused before any replica is contacted.
//   - A Route's pending owners are sent every write as well, best effort:
//     they count toward neither R nor W, serve no reads, send no reply,
//     and one that is suspected or fails is neither hinted nor an error
//     (only counted: PendingMissed). Its transfer covers what it missed.
//   - Only a replica of the key coordinates its writes: any other node is
//     refused with ErrNotReplica before it stores anything, so W is only
//     ever met by the key's replicas and the fallbacks designated for them.
//   - A write is answered as soon as W replicas (the coordinator's own durable
//     local write counts as one) acknowledge; the remaining replica writes
//     continue until the request's deadline and are never cancelled by the
//     answer.
//   - A request's replies channel holds every reply its calls can send
//     (Placement.Replies for a write, one per primary for a read), so no
//     call blocks on a reply nobody reads and Wait always returns.
//   - A write that misses W reports how many replicas acknowledged and that
//     its outcome is indeterminate: it may still become visible.
//   - W counts distinct nodes that stored the write durably, as a replica
//     or (sloppy quorum) as a hint for a primary that is suspected or did
//     not answer; a node holding both its replica and a hint counts once.
//   - A suspected primary is not contacted. With hinted handoff on, its
//     write goes to the next healthy node past the preference list as a
//     hint, or stays with the coordinator as a hint when none is free.
//   - A read answers once R replicas replied (not-found is a reply) and
//     returns the sync of what they sent. It then waits a bounded time for
//     the rest and writes the merge to every replica that was behind
//     (read repair).
//   - Every replica call carries the request's deadline.
package quorum
