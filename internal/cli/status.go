package cli

import (
	"fmt"
	"math"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/faults"
)

type hintsJSON struct {
	Count  uint64 `json:"count"`
	Bytes  uint64 `json:"bytes"`
	Oldest string `json:"oldest,omitempty"` // RFC 3339, when the oldest waiting hint was stored
}

type memberJSON struct {
	ID         string    `json:"id"`
	Addr       string    `json:"addr"`
	GossipAddr string    `json:"gossip_addr"`
	State      string    `json:"state"`
	Phi        float64   `json:"phi"`
	Partitions uint32    `json:"partitions"`         // owned in the agreed ring
	Pending    uint32    `json:"pending_partitions"` // receiving, counting toward nothing yet
	RingPhase  string    `json:"ring_phase"`         // joining, valid, leaving, left, removed, gone; "" when not in the ring
	Hints      hintsJSON `json:"hints"`              // held on this node for the member
}

type antiEntropyJSON struct {
	Enabled          bool    `json:"enabled"`
	Exchanges        uint64  `json:"exchanges"`
	Incomplete       uint64  `json:"exchanges_incomplete"`
	KeysPulled       uint64  `json:"keys_pulled"`
	KeysPushed       uint64  `json:"keys_pushed"`
	Bytes            uint64  `json:"bytes"`
	EntropyAgeS      float64 `json:"entropy_age_s"`
	IntervalS        float64 `json:"interval_s"`
	TreeBytes        uint64  `json:"tree_bytes"`
	TombstonesReaped uint64  `json:"tombstones_reaped"`
}

type diskJSON struct {
	Probed        bool   `json:"probed"` // false: the filesystem reports no free space; nothing is refused
	FreeBytes     int64  `json:"free_bytes"`
	ReserveBytes  int64  `json:"reserve_bytes"`
	BallastBytes  int64  `json:"ballast_bytes"`
	Full          bool   `json:"full"` // writes are refused
	WritesRefused uint64 `json:"writes_refused"`
}

type statusJSON struct {
	Node           string          `json:"node"`
	Actor          string          `json:"actor"`
	N              uint32          `json:"n"`
	Partitions     uint32          `json:"partitions"`
	PhiThreshold   float64         `json:"phi_threshold"`
	HintedHandoff  bool            `json:"hinted_handoff"`
	HintsStored    uint64          `json:"hints_stored"`
	HintsDelivered uint64          `json:"hints_delivered"`
	HintsDropped   uint64          `json:"hints_dropped"`
	ReadRepairs    uint64          `json:"read_repairs"`
	AntiEntropy    antiEntropyJSON `json:"anti_entropy"`
	Disk           diskJSON        `json:"disk"`
	Faults         *faultsJSON     `json:"faults,omitempty"` // only on a node run with --dev-faults
	Transfers      transferTotals  `json:"transfers"`
	RingVersion    uint64          `json:"ring_version"`
	RingDigest     string          `json:"ring_digest"`
	RingPending    uint32          `json:"ring_pending"` // partition-replicas whose new owner is pending
	Members        []memberJSON    `json:"members"`
}

// faultsJSON is the injected faults in force on a node (serve --dev-faults).
type faultsJSON struct {
	Partition  [][]string `json:"partition"`
	SlowMs     float64    `json:"slow_ms"`
	SlowDiskMs float64    `json:"slow_disk_ms"`
	Summary    string     `json:"summary"`
}

// toFaultsJSON is nil for a node without the fault layer.
func toFaultsJSON(f *ringkvv1.Faults) *faultsJSON {
	if !f.GetEnabled() {
		return nil
	}
	s := faults.Spec{Slow: time.Duration(f.GetSlowUs()) * time.Microsecond, SlowDisk: time.Duration(f.GetSlowDiskUs()) * time.Microsecond}
	for _, g := range f.GetGroups() {
		s.Groups = append(s.Groups, g.GetNodes())
	}
	return &faultsJSON{Partition: append([][]string{}, s.Groups...), SlowMs: float64(f.GetSlowUs()) / 1000,
		SlowDiskMs: float64(f.GetSlowDiskUs()) / 1000, Summary: s.String()}
}

func newStatus(stdio IO) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster as one node sees it",
		Args:  cobra.NoArgs,
		RunE: show(&f, stdio, (*client.Client).Status, func(st *ringkvv1.StatusResponse) any { return toStatusJSON(st) },
			func(st *ringkvv1.StatusResponse) error { return printStatus(stdio, st) }),
	}
	f.register(cmd)
	return cmd
}

func toStatusJSON(st *ringkvv1.StatusResponse) statusJSON {
	out := statusJSON{Node: st.GetNodeId(), Actor: st.GetActor(), N: st.GetN(), Partitions: st.GetPartitions(),
		PhiThreshold: st.GetPhiThreshold(), HintedHandoff: st.GetHintedHandoff(),
		HintsStored: st.GetHintsStored(), HintsDelivered: st.GetHintsDelivered(), HintsDropped: st.GetHintsDropped(),
		ReadRepairs: st.GetReadRepairs(), AntiEntropy: toAntiEntropyJSON(st.GetAntiEntropy()), Members: []memberJSON{},
		Faults: toFaultsJSON(st.GetFaults()), Transfers: toTransferTotals(st.GetTransfers()), RingVersion: st.GetRingVersion(),
		RingDigest: digestString(st.GetRingDigest()), RingPending: st.GetRingPending()}
	d := st.GetDisk()
	out.Disk = diskJSON{Probed: d.GetProbed(), FreeBytes: d.GetFreeBytes(), ReserveBytes: d.GetReserveBytes(),
		BallastBytes: d.GetBallastBytes(), Full: d.GetFull(), WritesRefused: d.GetWritesRefused()}
	for _, m := range st.GetMembers() {
		h := hintsJSON{Count: m.GetHints(), Bytes: m.GetHintBytes()}
		if ms := m.GetHintsOldestUnixMs(); ms > 0 {
			h.Oldest = time.UnixMilli(ms).UTC().Format(time.RFC3339)
		}
		out.Members = append(out.Members, memberJSON{ID: m.GetId(), Addr: m.GetAddr(), GossipAddr: m.GetGossipAddr(),
			State: m.GetState(), Phi: round2(m.GetPhi()), Partitions: m.GetPartitions(), Pending: m.GetPendingPartitions(),
			RingPhase: m.GetRingPhase(), Hints: h})
	}
	return out
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func toAntiEntropyJSON(ae *ringkvv1.AntiEntropy) antiEntropyJSON {
	return antiEntropyJSON{Enabled: ae.GetEnabled(), Exchanges: ae.GetExchanges(), Incomplete: ae.GetExchangesIncomplete(), KeysPulled: ae.GetKeysPulled(),
		KeysPushed: ae.GetKeysPushed(), Bytes: ae.GetBytes(), EntropyAgeS: round2(float64(ae.GetEntropyAgeMs()) / 1000),
		IntervalS: float64(ae.GetIntervalMs()) / 1000, TreeBytes: ae.GetTreeBytes(), TombstonesReaped: ae.GetTombstonesReaped()}
}

func printStatus(stdio IO, st *ringkvv1.StatusResponse) error {
	fmt.Fprintf(stdio.Out, "node %s (actor %s), n=%d, partitions=%d, phi threshold %g, hinted handoff %s\n",
		st.GetNodeId(), st.GetActor(), st.GetN(), st.GetPartitions(), st.GetPhiThreshold(), onOff(st.GetHintedHandoff()))
	fmt.Fprintf(stdio.Out, "hints stored %d, delivered %d, dropped %d; read repairs %d\n",
		st.GetHintsStored(), st.GetHintsDelivered(), st.GetHintsDropped(), st.GetReadRepairs())
	fmt.Fprintf(stdio.Out, "ring version %d, digest %s, %d partition-replicas pending\n",
		st.GetRingVersion(), digestString(st.GetRingDigest()), st.GetRingPending())
	printAntiEntropy(stdio, st.GetAntiEntropy())
	fmt.Fprintf(stdio.Out, "%s\n", describeDisk(st.GetDisk()))
	fmt.Fprintf(stdio.Out, "%s\n", describeTransfers(st.GetTransfers()))
	if f := toFaultsJSON(st.GetFaults()); f != nil {
		fmt.Fprintf(stdio.Out, "injected faults (--dev-faults): %s\n", f.Summary)
	}
	fmt.Fprintln(stdio.Out)
	tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tRING\tPHI\tADDR\tGOSSIP\tPARTITIONS\tPENDING\tHINTS WAITING")
	for _, m := range st.GetMembers() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%s\t%s\t%d\t%d\t%s\n", m.GetId(), m.GetState(), orDash(m.GetRingPhase()), m.GetPhi(), m.GetAddr(),
			m.GetGossipAddr(), m.GetPartitions(), m.GetPendingPartitions(), describeHints(m))
	}
	return tw.Flush()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// describeHints says "-" or e.g. "500 (61 KiB, oldest 12s ago)".
func describeHints(m *ringkvv1.Member) string {
	if m.GetHints() == 0 {
		return "-"
	}
	age := time.Since(time.UnixMilli(m.GetHintsOldestUnixMs())).Round(time.Second)
	return fmt.Sprintf("%d (%s, oldest %s ago)", m.GetHints(), humanBytes(m.GetHintBytes()), age)
}

func humanBytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

func printAntiEntropy(stdio IO, ae *ringkvv1.AntiEntropy) {
	if !ae.GetEnabled() {
		fmt.Fprintf(stdio.Out, "anti-entropy off (trees %s)\n", humanBytes(ae.GetTreeBytes()))
		return
	}
	age := (time.Duration(ae.GetEntropyAgeMs()) * time.Millisecond).Round(time.Second)
	interval := time.Duration(ae.GetIntervalMs()) * time.Millisecond
	fmt.Fprintf(stdio.Out, "anti-entropy: entropy age %s (interval %s), %d exchanges (%d incomplete), keys pulled %d, pushed %d, %s exchanged, "+
		"tombstones reaped %d, trees %s\n", age, interval, ae.GetExchanges(), ae.GetExchangesIncomplete(), ae.GetKeysPulled(), ae.GetKeysPushed(),
		humanBytes(ae.GetBytes()), ae.GetTombstonesReaped(), humanBytes(ae.GetTreeBytes()))
}

// describeDisk says e.g. "disk: 70.1 GiB free, reserve 256.0 MiB, ballast
// 64.0 MiB; writes accepted".
func describeDisk(d *ringkvv1.Disk) string {
	if !d.GetProbed() {
		return "disk: free space unknown; writes are never refused"
	}
	ballast := "ballast " + humanBytes(uint64(d.GetBallastBytes()))
	if d.GetBallastBytes() == 0 {
		ballast = "no ballast (released or off)"
	}
	state := "writes accepted"
	if d.GetFull() {
		state = "DISK NEARLY FULL: writes refused, reads served"
	}
	return fmt.Sprintf("disk: %s free, reserve %s, %s; %s (%d refused since start)", humanBytes(uint64(max(d.GetFreeBytes(), 0))),
		humanBytes(uint64(max(d.GetReserveBytes(), 0))), ballast, state, d.GetWritesRefused())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
