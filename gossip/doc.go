// Package gossip keeps cluster membership over hashicorp/memberlist (SWIM):
// who the members are, where their RPC and gossip endpoints are, and
// whether each one is alive, suspect, dead or has left.
//
// Every node advertises a small metadata record (node id, RPC address, the
// cluster Settings, a per-process boot id, a leaving flag and the digest of
// its agreed ring) as its memberlist node meta. The ring itself is opaque
// to gossip: the node fetches a peer's when the digests differ, and may
// also send its encoding in every push/pull (Config.RingState, OnRing). New joins the seeds with exponential backoff and
// full jitter; a node may start before its seeds, in which case it keeps
// retrying in the background until a join succeeds.
//
// Beside the join, a reconnect loop (Serf's answer) heals partitions:
// memberlist never probes a member it has declared dead, nor pushes/pulls
// with one, so two sides that declared each other dead would stay split
// after the network heals. While any member is dead (not left) or
// suspect, the loop pushes/pulls (memberlist's Join) with one such
// member's last address, or a seed, at a time, with exponential backoff
// and full jitter up to ReconnectInterval between attempts.
//
// Beside SWIM, every node sends each member memberlist counts as live a
// small heartbeat every HeartbeatInterval (memberlist's SendBestEffort, one
// UDP packet), and feeds the arrivals from each peer to a phi-accrual
// detector (package phi). A live member whose phi exceeds PhiThreshold is
// reported suspect and not Healthy: its heartbeats stopped reaching this
// node for longer than its history makes plausible. With the defaults
// that is about 4 s after its last heartbeat, while SWIM takes 4–24 s to
// declare it dead, so a coordinator routes around it sooner.
//
// Invariants:
//
//   - Settings agree: every member this node counts as alive advertised the
//     same Settings as this node. memberlist's AliveDelegate drops alive
//     messages from any other node, and its MergeDelegate refuses a join
//     (on both sides) when the other side knows such a node; the joining
//     node's New then fails with an error wrapping ErrSettingsMismatch.
//   - Membership never shrinks: Members lists every node ever heard from
//     (plus Config.Known) and self, whatever their state. An outage is not
//     a departure; only the node's state changes.
//   - Alive means memberlist currently counts the member as live (alive or
//     suspect to SWIM: memberlist v0.7.0 does not expose its suspicion) and
//     its phi is at most PhiThreshold; suspect means memberlist counts it
//     as live but its phi is over the threshold. Left means the member announced a graceful leave (Leave) in its
//     current process lifetime; every other way of not being alive,
//     including never having been heard from, is dead. A member that is
//     heard from again, for example after a restart, is alive again.
//   - Left spreads: Leave waits for its leaving flag to be gossiped before
//     memberlist broadcasts the leave, and a node that knows of a leave
//     passes it on in memberlist's periodic push/pull, keyed by the
//     leaver's boot id, so a member that saw the leave as a failure learns
//     otherwise, and a stale leave never marks a later life of the node.
//   - Phi is per peer life: a heartbeat or meta from a new boot id restarts
//     that peer's detector, and so does the first heartbeat after a silence
//     that made the peer suspect (an outage is not part of the arrival
//     pattern). Phi is 0 for self and for a peer not yet heard from.
//   - Every crossing of the threshold, in either direction, is followed by
//     an OnChange call: the heartbeat loop re-evaluates every peer each
//     interval, and any read (Members, Phi, Healthy) that finds a crossing
//     first schedules one too. Ticks without a crossing do not.
//   - Delegates called by memberlist (often while it holds its own node
//     lock) do no I/O, copy what they keep and hold gossip's lock briefly;
//     Config.OnChange runs on gossip's own goroutine, never under a lock.
//     Heartbeats that do not decode, or come from a node memberlist never
//     reported, are dropped.
//   - A split heals: while this node counts a member dead (not left) or
//     suspect, it attempts an exchange with one such member or a seed
//     within ReconnectInterval of the last attempt's end (until Leave or
//     Close), and one
//     exchange that gets through, with one more to carry the refutations,
//     revives both sides in memberlist. A revived member's phi detector
//     starts afresh, as for a restart. So after any partition heals every
//     node sees every other alive again within a bounded time.
//   - A member may come back at another address: memberlist is told to
//     reclaim a dead member's name at once (DeadNodeReclaimTime), so the
//     new address is taken as soon as the old life is counted dead.
//   - Every goroutine gossip starts (notifier, background join, reconnect
//     loop, heartbeats, memberlist) is stopped by Close.
package gossip
