package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// OpCount is how many operations of a kind ended each way.
type OpCount struct {
	Kind OpKind `json:"kind"`
	OK   int    `json:"ok"`
	Fail int    `json:"fail"`
	Info int    `json:"info"`
}

// Bin is one second of the run: operations that ended in it, by outcome.
type Bin struct {
	Second int `json:"second"`
	OK     int `json:"ok"`
	Fail   int `json:"fail"`
	Info   int `json:"info"`
}

func (b *Bin) add(o Outcome) {
	switch o {
	case OK:
		b.OK++
	case Fail:
		b.Fail++
	default:
		b.Info++
	}
}

func countOps(ops []Op) []OpCount {
	by := map[OpKind]*Bin{}
	for _, op := range ops {
		if by[op.Kind] == nil {
			by[op.Kind] = &Bin{}
		}
		by[op.Kind].add(op.Outcome)
	}
	var out []OpCount
	for _, k := range []OpKind{OpRead, OpAdd, OpDelete, OpCreate, OpProbe} {
		if b := by[k]; b != nil {
			out = append(out, OpCount{Kind: k, OK: b.OK, Fail: b.Fail, Info: b.Info})
		}
	}
	return out
}

// timeline bins the operations by the second they ended in.
func timeline(ops []Op) []Bin {
	var bins []Bin
	for _, op := range ops {
		s := int(op.End / time.Second)
		for len(bins) <= s {
			bins = append(bins, Bin{Second: len(bins)})
		}
		bins[s].add(op.Outcome)
	}
	return bins
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the human summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "verify: %d nodes, N=%d, r=%s w=%s, %d writers, %s, nemesis %s, seed %d\n",
		len(r.Nodes), r.Replicas, level(r.R), level(r.W), r.Writers, r.Duration, orNone(joinKinds(r.Nemesis)), r.Seed)
	r.writeOps(&b)
	r.writeEvents(&b)
	r.writeFigures(&b)
	a := r.Activity
	fmt.Fprintf(&b, "\nhealing: hints stored %d, delivered %d, dropped %d; read repairs %d; anti-entropy repaired %d keys; tombstones reaped %d\n",
		a.HintsStored, a.HintsDelivered, a.HintsDropped, a.ReadRepairs, a.KeysRepaired, a.TombstonesReaped)
	r.writeProblems(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func level(v int) string {
	if v == 0 {
		return "quorum"
	}
	return fmt.Sprint(v)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (r *Report) writeOps(b *strings.Builder) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nOPERATION\tOK\tFAILED\tINDETERMINATE")
	for _, c := range r.Counts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", c.Kind, c.OK, c.Fail, c.Info)
	}
	tw.Flush()
}

func (r *Report) writeEvents(b *strings.Builder) {
	if len(r.Events) == 0 {
		return
	}
	fmt.Fprintf(b, "\nfaults:")
	for _, e := range r.Events {
		fmt.Fprintf(b, " %s %.1f-%.1fs", e.describe(), e.Start.Seconds(), e.End.Seconds())
		if e.Err != "" {
			fmt.Fprintf(b, " (failed: %s)", e.Err)
		}
		b.WriteByte(';')
	}
	b.WriteByte('\n')
}

func (e Event) describe() string {
	f := Fault{Kind: e.Kind, Groups: e.Groups, Delay: e.Delay}
	if len(e.Nodes) > 0 {
		f.Node = e.Nodes[0]
	}
	return f.String()
}

func (r *Report) writeFigures(b *strings.Builder) {
	t := r.Totals
	b.WriteByte('\n')
	rows := [][2]string{
		{"keys", fmt.Sprint(t.Keys)},
		{"acknowledged", fmt.Sprint(t.Acknowledged)},
		{"lost", fmt.Sprint(t.Lost)},
		{"indeterminate, seen", fmt.Sprint(t.IndeterminateSeen)},
		{"indeterminate, absent", fmt.Sprint(t.IndeterminateAbsent)},
		{"resurrected", fmt.Sprint(t.Resurrected)},
		{"replicas that differ", fmt.Sprint(t.ReplicasDiffer)},
		{"time to converge", r.convergeText()},
		{"stale reads, r=1 (healthy)", staleText(r.Staleness.R1)},
		{"stale reads, r=quorum (healthy)", staleText(r.Staleness.Quorum)},
	}
	for _, row := range rows {
		fmt.Fprintf(b, "%-32s %s\n", row[0], row[1])
	}
}

func (r *Report) convergeText() string {
	if r.Converged {
		return r.ConvergeTime.Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("not within %s", r.ConvergeTime.Round(time.Second))
}

func staleText(c StaleCount) string {
	return fmt.Sprintf("%d of %d (%.2f%%)", c.Missed, c.Reads, 100*c.Fraction)
}

// writeProblems lists the keys that failed the check, and the run's notes.
func (r *Report) writeProblems(b *strings.Builder) {
	bad := r.badKeys()
	for i, k := range bad {
		if i == maxListed {
			fmt.Fprintf(b, "... and %d more keys\n", len(bad)-i)
			break
		}
		fmt.Fprintf(b, "key %s: %s\n", k.Key, k.problems())
	}
	if r.NotConverged != "" {
		fmt.Fprintf(b, "not converged: %s\n", r.NotConverged)
	}
	if r.HealError != "" {
		fmt.Fprintf(b, "heal failed: %s\n", r.HealError)
	}
	if r.Totals.FailedSeen > 0 {
		fmt.Fprintf(b, "note: %d elements whose write was refused are present\n", r.Totals.FailedSeen)
	}
	if r.HistoryFull {
		b.WriteString("note: the history filled up; the workload stopped early\n")
	}
}

// problems describes what is wrong with a key.
func (k KeyResult) problems() string {
	p := []string{fmt.Sprintf("%d acknowledged", k.Acknowledged)}
	if k.Lost > 0 {
		p = append(p, fmt.Sprintf("%d lost %v", k.Lost, k.LostElements))
	}
	if k.Resurrected > 0 {
		p = append(p, fmt.Sprintf("%d resurrected %v", k.Resurrected, k.ResurrectedElements))
	}
	if k.ReplicasDiffer {
		p = append(p, "replicas differ")
	}
	if k.Unread {
		p = append(p, "no final read could read it")
	}
	return strings.Join(p, ", ")
}

func (r *Report) badKeys() []KeyResult {
	var bad []KeyResult
	for _, k := range r.Keys {
		if k.Lost > 0 || k.Resurrected > 0 || k.ReplicasDiffer || k.Unread {
			bad = append(bad, k)
		}
	}
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Lost+bad[i].Resurrected > bad[j].Lost+bad[j].Resurrected })
	return bad
}

// Problem says in one line why the run failed ("" when it did not).
func (r *Report) Problem() string {
	var p []string
	t := r.Totals
	add := func(n int, what string) {
		if n > 0 {
			p = append(p, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(t.Lost, "acknowledged elements lost")
	add(t.Resurrected, "deleted elements resurrected")
	add(t.ReplicasDiffer, "keys whose replicas differ")
	add(t.Unread, "keys no final read could read")
	if !r.Converged {
		p = append(p, "the cluster did not converge within the timeout")
	}
	if r.HealError != "" {
		p = append(p, "healing failed")
	}
	return strings.Join(p, ", ")
}
