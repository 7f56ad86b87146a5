// Package faults injects the faults tests and the dev cluster need: a Disk
// of fixed capacity that fills (ENOSPC) and can hang its syncs; network
// partitions and slow links between nodes, through a Network that wraps
// each node's memberlist transport, its dialer of peer connections and its
// API listener; and slow fsyncs. In one test process (internal/clustertest)
// every node shares one Network. In a real node process, `ringkv serve
// --dev-faults` builds a Layer: a Network of its own, fed the peers'
// addresses from gossip, plus the slow-disk filesystem, driven by
// FaultService (Layer.Set). Nothing is wrapped without the flag.
//
// Faults act where they can be seen. A packet is dropped, and a dial
// fails, when the sending node and the node it is addressed to are on
// different sides; a connection that crosses the partition is closed when
// it starts, and fails every read or write while it lasts. A node also
// drops the gossip packets that arrive from the other side (known by their
// source address) and closes the connections a peer of the other side
// opened to it once that peer named itself (Named; the node's replica and
// anti-entropy services refuse its calls too), so the cut holds both ways
// even when only one side was told. Gossip streams that arrive from the
// other side cannot be told apart (their source port is ephemeral): the
// sender's own layer drops them. Clients, which never name themselves,
// are never cut or slowed.
//
// Invariants:
//
//   - Two nodes are cut off from each other exactly while a Partition puts
//     them in different groups; a node in no group reaches every node.
//   - A peer is known by its node name (memberlist addresses carry one
//     after the join) or by an address registered with Register, looked
//     up whenever traffic is checked: a connection opened before its peer
//     registered is cut like any other. Traffic to an address nobody
//     registered is never dropped.
//   - Heal restores everything: new packets, dials and connections pass.
//     Connections closed by the partition stay closed; their owners redial.
//   - A slowed node's packets and connection writes leave the latency
//     after they were sent, through bounded delay lines that never block
//     the sender for the latency (throughput is not capped); lowering the
//     latency releases what waits. A partition drops what waits to cross it.
//   - Goroutines: a wrapped memberlist transport owns two (stopped by its
//     Shutdown), a slowed connection one (stopped when it is closed and
//     what it holds went out, or at once when a partition cuts it).
package faults
