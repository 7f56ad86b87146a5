// Package gossip keeps cluster membership over hashicorp/memberlist (SWIM):
// who the members are, where their RPC and gossip endpoints are, and
// whether each one is alive, dead or has left.
//
// Every node advertises a small metadata record (node id, RPC address, the
// cluster Settings, a per-process boot id and a leaving flag) as its
// memberlist node meta. New joins the seeds with exponential backoff and
// full jitter; a node may start before its seeds, in which case it keeps
// retrying in the background until a join succeeds.
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
//     suspect: memberlist v0.7.0 does not expose suspicion, see State).
//     Left means the member announced a graceful leave (Leave) in its
//     current process lifetime; every other way of not being alive,
//     including never having been heard from, is dead. A member that is
//     heard from again, for example after a restart, is alive again.
//   - Left spreads: Leave waits for its leaving flag to be gossiped before
//     memberlist broadcasts the leave, and a node that knows of a leave
//     passes it on in memberlist's periodic push/pull, keyed by the
//     leaver's boot id, so a member that saw the leave as a failure learns
//     otherwise, and a stale leave never marks a later life of the node.
//   - Delegates called by memberlist (often while it holds its own node
//     lock) do no I/O, copy what they keep and hold gossip's lock briefly;
//     Config.OnChange runs on gossip's own goroutine, never under a lock.
//   - Every goroutine gossip starts (notifier, background join, memberlist)
//     is stopped by Close.
package gossip
