package verify

import (
	"context"
	"time"
)

// Node is one node the run talks to.
type Node struct {
	ID   string // the node's id, as reads name the replicas that replied
	Addr string // its API address, host:port
}

// Cluster is what the nemesis needs from a cluster: its nodes, and a way
// to put each fault in force and undo it. Every method returns once the
// change is made (Start: once the node serves again).
type Cluster interface {
	Nodes() []Node
	Kill(ctx context.Context, id string) error
	Start(ctx context.Context, id string) error
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	Partition(ctx context.Context, groups [][]string) error
	// Heal removes every network and disk fault (partitions, slow links,
	// slow disks).
	Heal(ctx context.Context) error
	// Slow delays what node id sends to its peers by d (0 removes it).
	Slow(ctx context.Context, id string, d time.Duration) error
	// SlowDisk delays each fsync of node id by d (0 removes it).
	SlowDisk(ctx context.Context, id string, d time.Duration) error
}

// nodeIDs lists the cluster's node ids.
func nodeIDs(c Cluster) []string {
	var ids []string
	for _, n := range c.Nodes() {
		ids = append(ids, n.ID)
	}
	return ids
}
