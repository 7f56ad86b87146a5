package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/spf13/cobra"

	"github.com/ringkv/ringkv/internal/faults"

	"github.com/ringkv/ringkv/node"
)

func newServe(stdio IO) *cobra.Command {
	cfg := node.DefaultConfig()
	var seeds, initial string
	var logLevel slog.Level
	var shutdownTimeout time.Duration
	var handoff, antiEntropy, devFaults bool
	transferRate := int64(cfg.Transfers.Rate)
	cmd := &cobra.Command{
		Use:   "serve --id ID --dir DIR --listen HOST:PORT --gossip HOST:PORT [--seeds HOST:PORT,...]",
		Short: "Run a node",
		Long: `Run a ringkv node. It joins the cluster through --seeds (gossip addresses of
nodes already running), serves the client, admin and replica APIs and
Prometheus /metrics on --listen, and shuts down cleanly on SIGTERM or SIGINT.

The nodes of a new cluster name each other with --initial-members (like etcd's
--initial-cluster): each builds the same ring, owned by them all. A node
started later with only --seeds learns the cluster's ring from a peer and
joins it as a pending owner of its partitions. A node started with neither
founds a one-node cluster. A node that has stored a ring (a restart) uses it
and ignores --initial-members.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if transferRate <= 0 || cfg.Transfers.Concurrency <= 0 {
				return fmt.Errorf("--transfer-rate %d and --transfer-concurrency %d must be at least 1", transferRate, cfg.Transfers.Concurrency)
			}
			cfg.Transfers.Rate = float64(transferRate)
			cfg.Seeds = splitList(seeds)
			cfg.InitialMembers = splitList(initial)
			cfg.DisableHintedHandoff = !handoff
			cfg.DisableAntiEntropy = !antiEntropy
			if cfg.MinSyncInterval == 0 {
				cfg.MinSyncInterval = -1 // the flag's 0 means none; the Config's, the default
			}
			for _, v := range []*int64{&cfg.DiskReserveBytes, &cfg.DiskBallastBytes} {
				if *v == 0 {
					*v = -1 // likewise
				}
			}
			cfg.Logger = slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: logLevel}))
			deps := node.Deps{}
			if devFaults {
				deps = faultDeps(cfg)
			}
			return serve(cmd.Context(), cfg, deps, shutdownTimeout)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.ID, "id", "", "node id, unique in the cluster (required)")
	fl.StringVar(&cfg.Dir, "dir", "", "data directory (required; created if missing)")
	fl.StringVar(&cfg.Listen, "listen", "127.0.0.1:7070", "address for the API, replica calls and /metrics")
	fl.StringVar(&cfg.Gossip, "gossip", "127.0.0.1:7946", "address for gossip (TCP and UDP)")
	fl.StringVar(&seeds, "seeds", "", "comma-separated gossip addresses of nodes to join through")
	fl.StringVar(&initial, "initial-members", "", "comma-separated ids of a new cluster's founding nodes, this one included (ignored once the node has stored a ring)")
	fl.IntVar(&cfg.N, "n", cfg.N, "replication factor; must match the cluster's")
	fl.IntVar(&cfg.Partitions, "partitions", cfg.Partitions, "ring partitions, a power of two; must match the cluster's")
	fl.IntVar(&cfg.MaxValueBytes, "max-value-bytes", cfg.MaxValueBytes, "largest value accepted")
	fl.IntVar(&cfg.MaxSiblings, "max-siblings", cfg.MaxSiblings, "most siblings a client write may leave on a key")
	fl.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "deadline for requests that arrive without one")
	fl.IntVar(&cfg.MaxRequests, "max-requests", cfg.MaxRequests, "most client requests worked on at once; more are refused with ResourceExhausted")
	fl.DurationVar(&cfg.MinSyncInterval, "min-sync-interval", cfg.MinSyncInterval, "least time between fsyncs of the write-ahead log: writes meanwhile share the next one (0: none)")
	fl.DurationVar(&cfg.JoinTimeout, "join-timeout", cfg.JoinTimeout, "how long start-up retries the seeds before serving alone (it keeps retrying in the background); a new node that must learn the ring fails to start past it")
	fl.DurationVar(&shutdownTimeout, "shutdown-timeout", 10*time.Second,
		"how long SIGTERM waits for in-flight requests and storage to close; past it the process exits anyway (acknowledged writes are synced)")
	fl.Int64Var(&cfg.DiskReserveBytes, "disk-reserve-bytes", cfg.DiskReserveBytes,
		"free disk space writes never use: with less free, writes are refused (ResourceExhausted) and reads served (0: never refuse)")
	fl.Int64Var(&cfg.DiskBallastBytes, "disk-ballast-bytes", cfg.DiskBallastBytes,
		"size of the EMERGENCY_BALLAST file kept in --dir, deleted when something fills the disk below half the reserve so storage can go on (0: none)")
	fl.Float64Var(&cfg.PhiThreshold, "phi-threshold", cfg.PhiThreshold, "failure detector suspicion above which a peer is routed around")
	fl.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", cfg.HeartbeatInterval, "how often every peer is sent a heartbeat for the phi detector")
	fl.DurationVar(&cfg.ReplicaTimeout, "replica-timeout", cfg.ReplicaTimeout, "how long one replica write may take before it falls back to a hint")
	fl.BoolVar(&handoff, "hinted-handoff", true, "sloppy quorum: store writes for unreachable replicas as hints on other nodes and deliver them later")
	fl.DurationVar(&cfg.HintWindow, "hint-window", cfg.HintWindow, "hints whose newest write is older than this are dropped (anti-entropy covers them)")
	fl.Int64Var(&cfg.HintBudgetBytes, "hint-budget-bytes", cfg.HintBudgetBytes, "most bytes of hints kept for one target; further hints are dropped")
	fl.Float64Var(&cfg.HandoffRate, "handoff-rate", cfg.HandoffRate, "most hints delivered per second")
	fl.IntVar(&cfg.HandoffConcurrency, "handoff-concurrency", cfg.HandoffConcurrency, "most hint deliveries in flight")
	fl.BoolVar(&antiEntropy, "anti-entropy", true, "exchange Merkle trees with other replicas and repair what differs")
	fl.DurationVar(&cfg.AntiEntropyInterval, "ae-interval", cfg.AntiEntropyInterval, "compare every partition this node replicates with another replica at least this often")
	fl.Float64Var(&cfg.AntiEntropyRepairRate, "ae-repair-rate", cfg.AntiEntropyRepairRate, "most keys repaired per second by anti-entropy")
	fl.DurationVar(&cfg.TombstoneGrace, "tombstone-grace", cfg.TombstoneGrace, "how long a tombstone is kept at least; it goes once an exchange after that found every replica holding it (or nothing); must exceed --hint-window")
	fl.Int64Var(&transferRate, "transfer-rate", transferRate,
		"most bytes per second this node sends to pending owners in partition transfers, all transfers together")
	fl.IntVar(&cfg.Transfers.Concurrency, "transfer-concurrency", cfg.Transfers.Concurrency, "most partitions this node streams to pending owners at once")
	fl.BoolVar(&cfg.EnablePprof, "pprof", false, "serve Go's profiler at /debug/pprof/ on --listen")
	fl.TextVar(&logLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fl.BoolVar(&devFaults, "dev-faults", false,
		"development only: put the node's gossip, peer connections and fsyncs behind a fault layer that FaultService (ringkv dev partition, isolate, slow, slow-disk, heal) drives")
	return cmd
}

// serve runs a node until ctx ends or a SIGTERM/SIGINT arrives. Whatever
// state storage is in, it returns within shutdownTimeout of the signal:
// a node whose storage cannot open or close (a full or hung disk) is given
// up on rather than left deaf to signals.
func serve(ctx context.Context, cfg node.Config, deps node.Deps, shutdownTimeout time.Duration) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	n, err := start(ctx, cfg, deps)
	if err != nil {
		return err
	}
	<-ctx.Done()
	cfg.Logger.Info("shutting down", "node", cfg.ID)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := n.Close(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// start starts a node, or gives up when ctx ends first; a node that
// starts after that is closed at once.
func start(ctx context.Context, cfg node.Config, deps node.Deps) (*node.Node, error) {
	type started struct {
		n   *node.Node
		err error
	}
	ch := make(chan started, 1)
	go func() {
		n, err := node.New(cfg, deps)
		ch <- started{n, err}
	}()
	select {
	case s := <-ch:
		return s.n, s.err
	case <-ctx.Done():
	}
	go func() {
		if s := <-ch; s.err == nil {
			_ = s.n.Close(context.Background())
		}
	}()
	return nil, fmt.Errorf("interrupted while starting (storage may not be opening): %w", context.Cause(ctx))
}

// faultDeps puts the node's memberlist transport, peer dialer and Pebble
// filesystem behind a fault layer (serve --dev-faults).
func faultDeps(cfg node.Config) node.Deps {
	l := faults.NewLayer(cfg.ID, cfg.Logger)
	return node.Deps{Faults: l, GossipTransport: l.Transport, Dial: l.Dialer(nil), FS: l.FS(vfs.Default)}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
