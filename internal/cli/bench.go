package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringkv/ringkv/bench"
	"github.com/ringkv/ringkv/internal/devcluster"
)

// benchFlags are `ringkv bench`'s flags.
type benchFlags struct {
	workload     string
	propFile     string
	props        []string
	records      int64
	operations   int64
	duration     time.Duration
	valueSize    int
	distribution string
	r, w         int
	clients      int
	rate         float64
	addr         string
	timeout      time.Duration
	load         bool
	noLoad       bool
	updates      string
	unary        bool
	seed         uint64
	json         bool
	html         string
	dev          bool
}

func newBench(stdio IO) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput and latency with YCSB workloads",
		Long: `Load records, then run a YCSB core workload against the cluster and report
throughput and latency percentiles per operation type.

Workloads: a (50% read, 50% update), b (95/5), c (read only), d (95% read,
5% insert, reads favour recent inserts), f (50% read, 50% read-modify-write),
w (update only). -P reads a YCSB property file (the shipped ones are
workloada..workloadw, found by name); flags given on the command line
override it.

By default the load is a closed loop: --clients clients each send the next
request when the last returns. --rate R runs an open loop instead: requests
are due at a fixed rate and latency counts from when each was due, so a
slow store shows high latency instead of a politely lower rate.

--dev starts a temporary 3-node cluster on loopback, runs against all three
nodes and removes it afterwards.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, stdio, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.workload, "workload", "a", "workload: a, b, c, d, f or w")
	fl.StringVarP(&f.propFile, "workload-file", "P", "", "YCSB workload property file (or the name of a shipped one: workloada..workloadw)")
	fl.StringArrayVarP(&f.props, "property", "p", nil, "one YCSB property, key=value (repeatable; overrides -P)")
	fl.Int64Var(&f.records, "records", bench.DefaultRecords, "records to load and to operate on")
	fl.Int64Var(&f.operations, "operations", 0, "operations to run (0: run for --duration)")
	fl.DurationVar(&f.duration, "duration", bench.DefaultDuration, "how long to run (with --operations: at most this long, if given)")
	fl.IntVar(&f.valueSize, "value-size", bench.DefaultValueSize, "bytes per value")
	fl.StringVar(&f.distribution, "distribution", "", "request distribution: uniform, zipfian or latest (default: the workload's)")
	fl.IntVar(&f.r, "r", 0, "replicas that must reply to a read, 1..N (default: quorum)")
	fl.IntVar(&f.w, "w", 0, "replicas that must acknowledge a write, 1..N (default: quorum)")
	fl.IntVar(&f.clients, "clients", bench.DefaultClients, "concurrent clients (open loop: most operations in flight)")
	fl.Float64Var(&f.rate, "rate", 0, "open loop at this many operations per second in total (0: closed loop)")
	fl.StringVar(&f.addr, "addr", defaultAddr(), "nodes to spread requests over, comma-separated host:port ($RINGKV_ADDR sets the default)")
	fl.DurationVar(&f.timeout, "timeout", bench.DefaultTimeout, "deadline of every request")
	fl.BoolVar(&f.load, "load", true, "insert the records before the run")
	fl.BoolVar(&f.noLoad, "no-load", false, "skip the load phase: the records exist already")
	fl.BoolVar(&f.noLoad, "skip-load", false, "same as --no-load")
	fl.BoolVar(&f.unary, "unary", false, "ringkv: one call per request instead of pipelining each node's requests on one stream")
	fl.StringVar(&f.updates, "updates", string(bench.Remembered), "how updates write: remembered (under the last context seen for the key), read-first (read the context, then write) or blind (no context: repeated blind writes to a key pile up siblings)")
	fl.Uint64Var(&f.seed, "seed", 0, "seed for key and operation choices (0: random)")
	fl.BoolVar(&f.json, "json", false, "print one JSON object")
	fl.StringVar(&f.html, "html", "", "also write a self-contained HTML report with charts to this file")
	fl.BoolVar(&f.dev, "dev", false, "run against a temporary local 3-node cluster, removed afterwards")
	return cmd
}

func runBench(cmd *cobra.Command, stdio IO, f *benchFlags) error {
	opts, err := f.options(cmd, stdio.Err)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addrs := splitList(f.addr)
	if f.dev {
		var teardown func()
		addrs, teardown, err = startBenchCluster(ctx, stdio.Err)
		if err != nil {
			return err
		}
		defer teardown()
	}
	if err := reachable(ctx, addrs, f.timeout); err != nil {
		return err
	}
	d, err := bench.NewRingkv(addrs, bench.RingkvOptions{R: f.r, W: f.w, Updates: bench.UpdateMode(f.updates), Unary: f.unary})
	if err != nil {
		return err
	}
	defer d.Close()
	opts.Target = d.Describe()
	if isTerminal(stdio.Err) {
		opts.Live = stdio.Err
	}
	res, err := bench.Run(ctx, d, opts)
	if err != nil {
		return err
	}
	if err := writeBenchReports(stdio, f, res); err != nil {
		return err
	}
	if f.updates == string(bench.Blind) && sawTooManySiblings(res) {
		fmt.Fprintln(stdio.Err, "ringkv bench: blind updates piled up siblings on hot keys until the node refused more; --updates remembered or read-first overwrite instead")
	}
	return nil
}

func sawTooManySiblings(res *bench.Result) bool {
	for _, e := range res.Run.Errors {
		if strings.Contains(e.Example, "too many siblings") {
			return true
		}
	}
	return false
}

func writeBenchReports(stdio IO, f *benchFlags, res *bench.Result) error {
	if f.html != "" {
		var buf bytes.Buffer
		if err := res.WriteHTML(&buf); err != nil {
			return err
		}
		if err := os.WriteFile(f.html, buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdio.Err, "wrote %s\n", f.html)
	}
	if f.json {
		return res.WriteJSON(stdio.Out)
	}
	return res.WriteText(stdio.Out)
}

// options builds the run's options: the flags' defaults and --workload,
// then -P (as YCSB reads it), then -p, then every flag given explicitly.
func (f *benchFlags) options(cmd *cobra.Command, warn io.Writer) (bench.Options, error) {
	changed := cmd.Flags().Changed
	if m := bench.UpdateMode(f.updates); m != bench.Blind && m != bench.ReadFirst && m != bench.Remembered {
		return bench.Options{}, fmt.Errorf("--updates %q: want %s, %s or %s", f.updates, bench.Remembered, bench.ReadFirst, bench.Blind)
	}
	w, err := bench.Preset(f.workload)
	if err != nil {
		return bench.Options{}, err
	}
	o := bench.Options{Workload: w, Records: f.records, Duration: f.duration, ValueSize: f.valueSize,
		Clients: f.clients, Rate: f.rate, Timeout: f.timeout, Seed: f.seed}
	props, fromFile, err := f.properties()
	if err != nil {
		return o, err
	}
	if props.Len() > 0 {
		warnings, err := props.Apply(&o, fromFile)
		if err != nil {
			return o, fmt.Errorf("%s: %w", orName(f.propFile, "-p"), err)
		}
		if fromFile {
			o.Workload.Name = filepath.Base(f.propFile)
		}
		for _, w := range warnings {
			fmt.Fprintf(warn, "ringkv bench: warning: %s\n", w)
		}
	}
	if err := f.override(&o, changed, props); err != nil {
		return o, err
	}
	return o, o.Validate()
}

func orName(file, alt string) string {
	if file != "" {
		return file
	}
	return alt
}

// override applies the flags given on the command line over the file.
func (f *benchFlags) override(o *bench.Options, changed func(string) bool, props bench.Properties) error {
	if changed("workload") {
		w, _ := bench.Preset(f.workload)
		o.Workload = w
	}
	if f.distribution != "" {
		d, err := bench.ParseDistribution(f.distribution)
		if err != nil {
			return err
		}
		o.Workload.Distribution = d
	}
	setIf(changed("records"), &o.Records, f.records)
	setIf(changed("value-size"), &o.ValueSize, f.valueSize)
	setIf(changed("clients"), &o.Clients, f.clients)
	setIf(changed("rate"), &o.Rate, f.rate)
	setIf(changed("timeout"), &o.Timeout, f.timeout)
	setIf(changed("duration"), &o.Duration, f.duration)
	if changed("operations") {
		o.Operations = f.operations
		if _, capped := props.Get("maxexecutiontime"); !changed("duration") && !capped {
			o.Duration = 0 // the operations decide when the run ends
		}
	}
	o.SkipLoad = f.noLoad || (changed("load") && !f.load)
	return nil
}

func setIf[T any](cond bool, dst *T, v T) {
	if cond {
		*dst = v
	}
}

// properties reads -P (a path, else a shipped workload by name) and adds
// the -p pairs. fromFile says whether a file was read.
func (f *benchFlags) properties() (props bench.Properties, fromFile bool, err error) {
	if f.propFile != "" {
		raw, err := os.ReadFile(f.propFile)
		if errors.Is(err, fs.ErrNotExist) {
			if b, ok := bench.WorkloadFile(f.propFile); ok {
				raw, err = b, nil
			}
		}
		if err != nil {
			return props, false, fmt.Errorf("-P: %w", err)
		}
		if props, err = bench.ReadProperties(bytes.NewReader(raw)); err != nil {
			return props, false, fmt.Errorf("%s: %w", f.propFile, err)
		}
		fromFile = true
	}
	for _, kv := range f.props {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return props, false, fmt.Errorf("-p %q: want key=value", kv)
		}
		props.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return props, fromFile, nil
}

// reachable asks every node for its status, so a wrong address fails in a
// second instead of as a run full of errors.
func reachable(ctx context.Context, addrs []string, timeout time.Duration) error {
	if len(addrs) == 0 {
		return errors.New("--addr names no node")
	}
	for _, a := range addrs {
		if _, err := nodeStatus(ctx, a, timeout); err != nil {
			return err
		}
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal), where
// the live line's \r rewriting makes sense.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// startBenchCluster starts a temporary 3-node dev cluster (see
// startTempCluster) and returns its API addresses.
func startBenchCluster(ctx context.Context, log io.Writer) (addrs []string, teardown func(), err error) {
	c, teardown, err := startTempCluster(ctx, log, "ringkv-bench-", 3, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range c.Nodes {
		addrs = append(addrs, n.Listen)
	}
	return addrs, teardown, nil
}

func printLogTails(c *devcluster.Cluster, w io.Writer) {
	for _, n := range c.Nodes {
		raw, _ := os.ReadFile(c.LogFile(n.ID))
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		fmt.Fprintf(w, "--- %s (last lines of its log)\n%s\n", n.ID, strings.Join(lines[max(0, len(lines)-10):], "\n"))
	}
}
