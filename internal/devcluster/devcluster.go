// Package devcluster runs a local ringkv cluster of real node processes on
// loopback, in the spirit of Cassandra's ccm: start, kill, pause, restart
// and stop nodes, each a `ringkv serve` process of its own.
//
// All state lives in one directory (default ./ringkv-dev): cluster.json
// (nodes, ports, pids, extra serve flags, the faults in force), and per
// node its data directory and log. Every command reads it, so any shell
// can drive the cluster. Every node runs with serve --dev-faults, so that
// Partition, Isolate, Slow, SlowDisk and Heal can inject faults into it
// (faults.go). A Cluster is not safe for concurrent use.
//
// Node i (1-based) listens for the API on 127.0.0.1:(base+i-1) and for
// gossip on 127.0.0.1:(base+100+i-1).
package devcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/ringkv/ringkv/internal/freeport"
)

// ErrNoCluster means the directory holds no cluster.
var ErrNoCluster = errors.New("devcluster: no cluster here (run `ringkv dev up` first)")

// GossipOffset separates a node's gossip port from its API port.
const GossipOffset = 100

// FreeBasePort finds a base port for a cluster of nodes whose API ports
// (base..) and gossip ports (base+GossipOffset..) are all free.
func FreeBasePort(nodes int) (int, error) {
	offsets := make([]int, 0, 2*nodes)
	for i := range nodes {
		offsets = append(offsets, i, GossipOffset+i)
	}
	return freeport.Base(offsets...)
}

// Node is one node of the dev cluster.
type Node struct {
	ID     string `json:"id"`
	Listen string `json:"listen"`
	Gossip string `json:"gossip"`
	PID    int    `json:"pid"`
}

// Cluster is the state kept in DIR/cluster.json.
type Cluster struct {
	Dir       string   `json:"-"`
	BasePort  int      `json:"base_port"`
	Nodes     []Node   `json:"nodes"`
	ServeArgs []string `json:"serve_args"` // passed to every serve, after the generated flags
	Binary    string   `json:"binary"`     // the ringkv executable that starts nodes
	Faults    Faults   `json:"faults"`     // injected faults in force (faults.go)
}

func stateFile(dir string) string { return filepath.Join(dir, "cluster.json") }

// Load reads the cluster kept in dir.
func Load(dir string) (*Cluster, error) {
	raw, err := os.ReadFile(stateFile(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoCluster, dir)
	}
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("devcluster: %s: %w", stateFile(dir), err)
	}
	return c, nil
}

// Save writes the state atomically.
func (c *Cluster) Save() error {
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := stateFile(c.Dir) + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, stateFile(c.Dir))
}

// New describes (without starting) a cluster of n nodes in dir.
func New(dir string, n, basePort int, binary string, serveArgs []string) *Cluster {
	c := &Cluster{Dir: dir, BasePort: basePort, ServeArgs: serveArgs, Binary: binary}
	for i := 1; i <= n; i++ {
		c.Nodes = append(c.Nodes, Node{
			ID:     fmt.Sprintf("n%d", i),
			Listen: fmt.Sprintf("127.0.0.1:%d", basePort+i-1),
			Gossip: fmt.Sprintf("127.0.0.1:%d", basePort+GossipOffset+i-1),
		})
	}
	return c
}

// Node returns the node with the given id.
func (c *Cluster) Node(id string) (*Node, error) {
	for i := range c.Nodes {
		if c.Nodes[i].ID == id {
			return &c.Nodes[i], nil
		}
	}
	ids := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		ids[i] = n.ID
	}
	return nil, fmt.Errorf("devcluster: no node %q (nodes: %s)", id, strings.Join(ids, ", "))
}

// NodeDir is where node id keeps its data.
func (c *Cluster) NodeDir(id string) string { return filepath.Join(c.Dir, id, "data") }

// LogFile is where node id's output goes.
func (c *Cluster) LogFile(id string) string { return filepath.Join(c.Dir, id, "node.log") }

// ProcState is what the OS says about a node's process.
type ProcState string

const (
	Running ProcState = "running"
	Paused  ProcState = "paused"
	Down    ProcState = "down"
)

// State reports whether node n's recorded process runs, is stopped by
// SIGSTOP, or is gone. A pid reused by another program counts as down.
func (c *Cluster) State(n *Node) ProcState {
	if n.PID <= 0 || !c.ownsPID(n) {
		return Down
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n.PID))
	if err != nil {
		return Down
	}
	// The state letter follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return Down
	}
	switch s[i+2] {
	case 'T', 't':
		return Paused
	case 'Z', 'X':
		return Down
	}
	return Running
}

// ownsPID checks that the pid still runs `serve --id ID`, not a stranger
// that inherited the number.
func (c *Cluster) ownsPID(n *Node) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n.PID))
	if err != nil {
		return false
	}
	args := strings.Split(string(raw), "\x00")
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--id" && args[i+1] == n.ID {
			return true
		}
	}
	return false
}

// Signal sends sig to node id's process. After SIGCONT it gives the
// thawed node the faults in force, which may have changed while it was
// paused.
func (c *Cluster) Signal(id string, sig syscall.Signal) error {
	n, err := c.Node(id)
	if err != nil {
		return err
	}
	if c.State(n) == Down {
		return fmt.Errorf("devcluster: %s is not running", id)
	}
	if err := syscall.Kill(n.PID, sig); err != nil || sig != syscall.SIGCONT {
		return err
	}
	return c.reapply(context.Background(), id)
}

// serveArgs are the flags node id is started with.
func (c *Cluster) serveArgs(n *Node) []string {
	var seeds, ids []string
	for _, o := range c.Nodes {
		ids = append(ids, o.ID)
		if o.ID != n.ID {
			seeds = append(seeds, o.Gossip)
		}
	}
	// The nodes of the dev cluster found it together; a restarted node
	// has stored its ring and ignores --initial-members.
	args := []string{"serve", "--id", n.ID, "--dir", c.NodeDir(n.ID), "--listen", n.Listen,
		"--gossip", n.Gossip, "--seeds", strings.Join(seeds, ","), "--initial-members", strings.Join(ids, ","), "--dev-faults"}
	return append(args, c.ServeArgs...)
}

func pidString(p int) string {
	if p <= 0 {
		return "-"
	}
	return strconv.Itoa(p)
}
