package node

import "github.com/prometheus/client_golang/prometheus"

// transferCollectors are the transfers' metrics: what this node sent as a
// donor (role="send") and applied as a pending owner (role="receive").
func (n *Node) transferCollectors() []prometheus.Collector {
	x := n.xfer
	counter := func(name, help string, labels prometheus.Labels, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "ringkv", Name: name, Help: help, ConstLabels: labels}, f)
	}
	gauge := func(role string, f func(TransferTotals) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ringkv", Name: "transfers_in_progress",
			Help:        "Partition transfers in progress: sent by this node (role=send), or received, with a batch applied and not the last (role=receive).",
			ConstLabels: prometheus.Labels{"role": role}}, func() float64 { return float64(f(n.TransferTotals())) })
	}
	const doneHelp = "Partition transfers finished: the receiver applied the last batch."
	return []prometheus.Collector{
		counter("transfer_bytes_sent_total", "Bytes of partition transfer batches sent by this node, resends included.", nil,
			func() float64 { return float64(x.mgr.BytesSent()) }),
		counter("transfer_keys_applied_total", "Keys this node applied from partition transfers it received.", nil,
			func() float64 { return float64(x.keysIn.Load()) }),
		counter("transfer_bytes_applied_total", "Bytes of partition transfer batches this node applied.", nil,
			func() float64 { return float64(x.bytesIn.Load()) }),
		counter("transfers_completed_total", doneHelp, prometheus.Labels{"role": RoleSend},
			func() float64 { return float64(x.sentDone.Load()) }),
		counter("transfers_completed_total", doneHelp, prometheus.Labels{"role": RoleReceive},
			func() float64 { return float64(x.recvDone.Load()) }),
		counter("transfer_attempts_failed_total", "Calls of this node's transfers to a receiver that failed: each ends an attempt, retried after a backoff (transfers never give up).", nil,
			func() float64 { return float64(x.failed.Load()) }),
		counter("transfer_batches_refused_total", "Transfer batches this node refused as a receiver (malformed, over the bounds, or failed to apply; gaps excluded).", nil,
			func() float64 { return float64(x.refused.Load()) }),
		gauge(RoleSend, func(t TransferTotals) int { return t.Sending }),
		gauge(RoleReceive, func(t TransferTotals) int { return t.Receiving }),
	}
}
