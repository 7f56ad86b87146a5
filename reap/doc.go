// Package reap decides when a replica may delete a tombstone for good.
//
// A delete leaves a tombstone that covers the values it deleted. Deleting
// the tombstone itself (reaping it) is safe only once no replica of the
// key can still hold, or still receive, a live value the tombstone covers:
// otherwise anti-entropy or read repair would carry that value back, and
// the deleted key would rise again. A replica learns what its peers hold
// from anti-entropy exchanges, so the rule is stated over their outcomes.
//
// # The rule
//
// A replica that has held a key's tombstone since time S may reap it at
// time now when:
//
//   - now ≥ S + Grace; and
//   - every other primary of the key's partition was verified by an
//     exchange that started at or after S + Grace.
//
// An exchange verifies its peer (Outcome.Verifies) when it ran to the end,
// with every difference listed and resolved (Complete), and found nothing to
// repair: the only differences allowed are a tombstone on one side against
// nothing on the other. "Absent equals tombstone": a peer that holds
// nothing holds no live value either, and it may have reaped the tombstone
// already.
//
// Why after S + Grace, not after S: Grace exceeds the hint window, so by
// S + Grace every hint written before the delete has been delivered or
// dropped. A peer seen holding nothing earlier could still be handed a
// pre-delete value by a late hint; one seen holding nothing later cannot.
// An exchange cut short (by its deadline, its repair budget, an error) saw
// only part of the partition, so it verifies nothing.
//
// # Invariants
//
//   - An Outcome that is not Complete, or that repaired anything, never
//     verifies its peer.
//   - Recording outcomes only adds verifications: the ledger keeps, per
//     peer, the latest start of a verifying exchange.
//   - MayReap is false before S + Grace, and false while any peer lacks a
//     verification that started at or after S + Grace.
//
// The package is pure: times come in as values; no clock, I/O or goroutines.
package reap
