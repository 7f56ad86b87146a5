package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/ringkv/ringkv/internal/devcluster"
)

// startTempCluster starts a dev cluster of nodes processes of this binary
// in a temporary directory on free ports, each serve given serveArgs, and
// waits until it has formed. teardown stops the nodes (SIGTERM, then
// SIGKILL) and removes the directory; it runs on every path out, Ctrl-C
// included.
func startTempCluster(ctx context.Context, log io.Writer, name string, nodes int, serveArgs []string) (*devcluster.Cluster, func(), error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", name)
	if err != nil {
		return nil, nil, err
	}
	base, err := devcluster.FreeBasePort(nodes)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	c := devcluster.New(dir, nodes, base, bin, serveArgs)
	teardown := func() { stopTempCluster(c, log) }
	if err := formTempCluster(ctx, c, log); err != nil {
		teardown()
		return nil, nil, err
	}
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.Listen)
	}
	fmt.Fprintf(log, "dev cluster: %s (in %s, removed afterwards)\n", strings.Join(addrs, ", "), dir)
	return c, teardown, nil
}

func formTempCluster(ctx context.Context, c *devcluster.Cluster, log io.Writer) error {
	for _, n := range c.Nodes {
		if err := c.Start(n.ID); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := c.WaitConverged(wctx, log); err != nil {
		printLogTails(c, log)
		return err
	}
	return nil
}

func stopTempCluster(c *devcluster.Cluster, log io.Writer) {
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if c.State(n) == devcluster.Paused {
			_ = c.Signal(n.ID, syscall.SIGCONT) // a stopped process cannot act on SIGTERM
		}
		if c.State(n) == devcluster.Down {
			continue
		}
		if err := c.Stop(n.ID, 15*time.Second); err != nil {
			fmt.Fprintf(log, "ringkv: %v; killing it\n", err)
			_ = c.Kill(n.ID)
		}
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		fmt.Fprintf(log, "ringkv: remove %s: %v\n", c.Dir, err)
	}
}
