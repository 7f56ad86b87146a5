// Package vclock implements dotted version vector sets (DVVSets), the
// per-key causality record of ringkv.
//
// A key's Set holds the live values (siblings), each tagged with the Dot
// (actor, counter) of the write that made it, and a version vector (Clock)
// summarising every write the replica has seen for the key. A read returns
// the siblings and the Clock as an opaque context; a write carrying that
// context supersedes exactly the siblings the context covers (Update), and
// replicas combine versions with Sync. Actors are replica incarnations, not
// clients, so a clock stays as small as the set of replicas that ever
// coordinated a write to the key.
//
// # Invariants
//
//   - A VV's entries are sorted by Actor, hold each Actor once, and never hold
//     a zero Actor or a zero Counter. The zero VV is the empty vector. VVs are
//     only built by this package (NewVV, Join, Update, DecodeVV), so every VV
//     satisfies this.
//   - A Set's Siblings are sorted by Dot (Actor, then Counter), no two share a
//     Dot, every sibling's Dot is covered by the Set's Clock, and a tombstone
//     carries no value. A dot the Clock covers but no sibling holds names a
//     write that was seen and superseded. Set.Validate checks this; Decode
//     accepts nothing else.
//   - A Dot names exactly one write: only the replica owning an Actor mints
//     dots for it, each above every counter that Actor has used, so two
//     siblings with the same Dot are the same write. (This is why a node with
//     a new data directory must take a new Actor.)
//   - Sync is commutative, associative and idempotent, so replicas converge
//     whatever order versions reach them in, and no value is dropped unless a
//     write whose context had seen it replaced it.
//   - VVs and Sets are values. No function modifies its arguments, but results
//     may share memory with them (Update keeps the caller's value slice, Sync
//     reuses an input's sibling slice when the result equals it), so callers
//     must never modify a Set's slices or values in place.
//   - The encoding is canonical: equal Sets encode to equal bytes, and Decode
//     accepts only bytes that re-encode to themselves. That is what lets
//     anti-entropy compare Digests instead of values.
//
// The package is pure: no I/O, no clock, no goroutines, no logging.
package vclock
