package devcluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/client"
)

// Start launches node id as a background process that outlives the
// command that started it, logging to its node.log. While faults are in
// force it waits (a minute at most) until the node serves and gives it
// them.
func (c *Cluster) Start(id string) error {
	n, err := c.Node(id)
	if err != nil {
		return err
	}
	if st := c.State(n); st != Down {
		return fmt.Errorf("devcluster: %s is already %s (pid %d)", id, st, n.PID)
	}
	if err := os.MkdirAll(filepath.Dir(c.LogFile(id)), 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(c.LogFile(id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(c.Binary, c.serveArgs(n)...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: a Ctrl-C in the shell that ran `dev up` does
	// not reach the nodes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("devcluster: start %s: %w", id, err)
	}
	n.PID = cmd.Process.Pid
	// Reap it if it dies while this command still runs; after we exit, init does.
	go cmd.Wait()
	if err := c.Save(); err != nil || c.Faults.None() {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitServing(ctx, id); err != nil {
		return err
	}
	return c.reapply(ctx, id)
}

// Stop sends SIGTERM to node id and waits (up to timeout) for it to exit.
func (c *Cluster) Stop(id string, timeout time.Duration) error {
	if err := c.Signal(id, syscall.SIGTERM); err != nil {
		return err
	}
	n, _ := c.Node(id)
	return c.waitDown(n, timeout)
}

// Kill sends SIGKILL to node id and waits for it to be gone.
func (c *Cluster) Kill(id string) error {
	if err := c.Signal(id, syscall.SIGKILL); err != nil {
		return err
	}
	n, _ := c.Node(id)
	return c.waitDown(n, 5*time.Second)
}

func (c *Cluster) waitDown(n *Node, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for c.State(n) != Down {
		if time.Now().After(deadline) {
			return fmt.Errorf("devcluster: %s (pid %d) still running after %s", n.ID, n.PID, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// WaitConverged polls every running node's status until each sees every
// node of the cluster alive and in its ring, printing progress to w.
func (c *Cluster) WaitConverged(ctx context.Context, w io.Writer) error {
	last := -1
	for {
		ready := c.converged(ctx)
		if ready != last {
			fmt.Fprintf(w, "waiting for the cluster to form: %d/%d nodes see all %d alive\n", ready, len(c.Nodes), len(c.Nodes))
			last = ready
		}
		if ready == len(c.Nodes) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devcluster: cluster did not form: %w (logs: %s)", ctx.Err(), filepath.Join(c.Dir, "*", "node.log"))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// converged counts the nodes that see every node alive.
func (c *Cluster) converged(ctx context.Context) int {
	ready := 0
	for _, n := range c.Nodes {
		if c.seesAllAlive(ctx, n.Listen) {
			ready++
		}
	}
	return ready
}

// WaitServing polls node id's status until it answers, so that a command
// run right after `dev start` reaches it. It fails at once if the process
// exits meanwhile.
func (c *Cluster) WaitServing(ctx context.Context, id string) error {
	n, err := c.Node(id)
	if err != nil {
		return err
	}
	for {
		if c.State(n) == Down {
			return fmt.Errorf("devcluster: %s exited while starting (log: %s)", id, c.LogFile(id))
		}
		if st, _ := status(ctx, n.Listen); st != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devcluster: %s is not serving on %s: %w (log: %s)", id, n.Listen, ctx.Err(), c.LogFile(id))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// status asks the node at addr for its status, waiting a second at most.
func status(ctx context.Context, addr string) (*ringkvv1.StatusResponse, error) {
	cl := client.New(addr)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return cl.Status(ctx)
}

func (c *Cluster) seesAllAlive(ctx context.Context, addr string) bool {
	st, err := status(ctx, addr)
	if err != nil {
		return false
	}
	alive := 0
	for _, m := range st.GetMembers() {
		// Alive to gossip and placed in this node's ring: the view its
		// coordinator checks R and W against lags gossip by a moment.
		if m.GetState() == "alive" && m.GetPartitions() > 0 {
			alive++
		}
	}
	return alive == len(c.Nodes)
}
