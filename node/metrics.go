package node

import (
	"context"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/internal/opstream"
)

// metrics are one node's Prometheus collectors, on a registry of its own so
// several nodes fit in one process.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// Replica streams, on the receiving side.
	streamOps     *prometheus.CounterVec
	streamBatch   prometheus.Histogram
	streamResults prometheus.Histogram
	// Pipelined clients' streams.
	kvBatch   prometheus.Histogram
	kvResults prometheus.Histogram
	// Replica operations this node sent, by peer.
	replicaOps *prometheus.HistogramVec
}

// perMessage is a histogram of how many operations or results messages
// carry, 1 to 4096 (opstream.MaxBatchOps).
func perMessage(name, help string) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "ringkv", Name: name, Help: help,
		Buckets: prometheus.ExponentialBuckets(1, 2, 13),
	})
}

// observer counts a served stream's messages: operations per message
// received into batch, results per message sent into results.
func observer(batch, results prometheus.Histogram) opstream.Observer {
	return opstream.Observer{
		Batch:   func(ops int) { batch.Observe(float64(ops)) },
		Results: func(n int) { results.Observe(float64(n)) },
	}
}

func newMetrics(n *Node) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ringkv", Name: "requests_total",
			Help: "RPCs served, by service, operation and outcome (a Connect code, or ok).",
		}, []string{"service", "op", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "ringkv", Name: "request_duration_seconds",
			Help:    "RPC latency, by service and operation.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 18), // 50µs .. ~6.5s
		}, []string{"service", "op"}),
		streamOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ringkv", Name: "replica_stream_ops_total",
			Help: "Replica operations received on peers' streams, by kind and outcome.",
		}, []string{"kind", "outcome"}),
		streamBatch:   perMessage("replica_stream_batch_ops", "Operations per message received on peers' replica streams."),
		streamResults: perMessage("replica_stream_result_ops", "Results per message sent on peers' replica streams."),
		kvBatch:       perMessage("kv_stream_batch_ops", "Requests per message received on pipelined clients' streams."),
		kvResults:     perMessage("kv_stream_result_ops", "Results per message sent on pipelined clients' streams."),
		replicaOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "ringkv", Name: "replica_op_duration_seconds",
			Help:    "Foreground replica operations this node sent, from queueing to answer, by peer, kind and outcome (a Connect code, or ok).",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 18), // 50µs .. ~6.5s
		}, []string{"peer", "kind", "outcome"}),
	}
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "ringkv", Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	m.reg.MustRegister(m.requests, m.latency, m.streamOps, m.streamBatch, m.kvBatch, m.streamResults, m.kvResults, m.replicaOps,
		counter("hints_stored_total", "Hints stored on this node for other replicas.", n.hintsIn.Load),
		counter("hints_delivered_total", "Hints delivered to their target and deleted.", n.handoff.delivered.Load),
		counter("hints_dropped_total", "Hints dropped: past the hint window or over the per-target budget.", n.hintsDropped),
		counter("read_repairs_total", "Replica writes sent by read repair.", n.coord.ReadRepairs),
		counter("peer_suspicions_total", "Times a peer went from alive to suspected by the phi detector.", n.suspicions.Load),
		counter("ae_exchanges_total", "Merkle-tree exchanges started by this node.", n.entropy.exchanges.Load),
		counter("ae_exchanges_incomplete_total", "Exchanges cut short (deadline, repair budget, any error): not counted as exchanged, verifying no peer.", n.entropy.incomplete.Load),
		counter("ae_keys_pulled_total", "Keys this node repaired in itself from a peer.", n.entropy.pulled.Load),
		counter("ae_keys_pushed_total", "Keys this node repaired on a peer.", n.entropy.pushed.Load),
		counter("ae_bytes_total", "Bytes of hashes, key lists and version sets exchanged.", n.entropy.bytes.Load),
		counter("dot_conflicts_total", "Merges that met one dot with two different contents: zero unless a replica "+
			"numbered two writes alike or a peer sent corrupt versions; each one may have dropped a write.", n.store.DotConflicts),
		counter("tombstones_reaped_total", "Tombstones deleted after every primary held them and the grace period passed.", n.entropy.reaped.Load),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ringkv", Name: "ae_entropy_age_seconds",
			Help: "Age of the least recently exchanged partition this node replicates."},
			func() float64 { return n.entropy.age().Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ringkv", Name: "ae_tree_bytes",
			Help: "Memory held by the Merkle trees."}, func() float64 { return float64(n.store.TreeBytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ringkv", Name: "hints_pending",
			Help: "Hints waiting for delivery, all targets."}, func() float64 {
			var total int64
			for _, st := range n.store.HintStats() {
				total += st.Count
			}
			return float64(total)
		}),
		counter("disk_writes_refused_total", "Writes refused because the disk was nearly full (--disk-reserve-bytes).",
			func() uint64 { return n.store.Disk().Refused }),
		counter("storage_errors_total", "Errors Pebble reported (background errors included), logged or not.", n.store.StorageErrors),
		counter("storage_log_suppressed_total", "Pebble error lines not logged by the rate limit.", n.store.LogSuppressed),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ringkv", Name: "disk_free_bytes",
			Help: "Free bytes of the data directory's filesystem (last probe less bytes written since)."},
			func() float64 { return float64(n.store.Disk().Free) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ringkv", Name: "disk_reserve_bytes",
			Help: "Free bytes writes never use: the reserve, plus the ballast's size while it is released."},
			func() float64 { return float64(n.store.Disk().Reserve) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ringkv", Name: "disk_ballast_bytes",
			Help: "Bytes of emergency ballast on disk (0 once released)."},
			func() float64 { return float64(n.store.Disk().Ballast) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ringkv", Name: "disk_full",
			Help: "1 while writes are refused because the disk is nearly full."},
			func() float64 {
				if n.store.Disk().Full {
					return 1
				}
				return 0
			}),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(n.transferCollectors()...)
	m.reg.MustRegister(ringCollectors(n)...)
	return m
}

// interceptor records every unary call's outcome and latency.
func (m *metrics) interceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			start := time.Now()
			resp, err := next(ctx, req)
			service, op := splitProcedure(req.Spec().Procedure)
			m.requests.WithLabelValues(service, op, outcome(err)).Inc()
			m.latency.WithLabelValues(service, op).Observe(time.Since(start).Seconds())
			return resp, err
		}
	}
}

// splitProcedure turns "/ringkv.v1.KVService/Get" into ("KVService", "Get").
func splitProcedure(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	service, op, _ := strings.Cut(p, "/")
	if i := strings.LastIndexByte(service, '.'); i >= 0 {
		service = service[i+1:]
	}
	return service, op
}

// outcome is a metrics label: "ok" or the error's Connect code.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return connect.CodeOf(err).String()
}

// observeReplicaOp records one replica operation sent to peer.
func (m *metrics) observeReplicaOp(peer string, kind ringkvv1.ReplicaOp_Kind, err error, d time.Duration) {
	m.replicaOps.WithLabelValues(peer, kindLabel(kind), outcome(err)).Observe(d.Seconds())
}
