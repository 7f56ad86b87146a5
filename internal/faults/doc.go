// Package faults injects the faults tests need: a Disk of fixed capacity
// that fills (ENOSPC) and can hang its syncs, and network partitions
// between nodes that run in one process: a Network wraps each node's memberlist transport and its dialer
// of peer (replica RPC) connections, and can then cut the traffic between
// groups of nodes and heal it again. It is off until Partition is called:
// a Network that never partitions passes everything through.
//
// Faults act at the sender. A packet is dropped, and a dial fails, when the
// sending node and the node it is addressed to are on different sides; a
// connection that crosses the partition is closed when it starts, and fails
// every read or write while it lasts. Since every node's traffic goes
// through the same Network, that cuts both directions, as a firewall that
// drops a node's traffic both ways would, while clients outside the
// Network still reach every node.
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
//   - No goroutines: a Network has nothing to close.
package faults
