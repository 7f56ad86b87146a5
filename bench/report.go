package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// LatencyNote says what the latency figures cover; every report carries it.
const LatencyNote = "latencies are of successful operations only; failed ones are counted as errors and not timed"

// WriteText prints the report for a person: the setup, the load phase in
// a line, and a row per operation type with its percentiles.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "workload %s: %s\n", orDash(r.Workload.Name), r.Workload)
	if r.Target != "" {
		fmt.Fprintf(&b, "target: %s\n", r.Target)
	}
	fmt.Fprintf(&b, "records: %d of %d bytes; request timeout %s\n", r.Records, r.ValueSize, r.Timeout)
	if r.Load != nil {
		writeLoadLine(&b, r.Load)
	} else {
		b.WriteString("load: skipped\n")
	}
	fmt.Fprintf(&b, "\nrun: %s; %s\n", r.Run.Model, r.Run.Elapsed.Round(time.Millisecond))
	writeTable(&b, &r.Run)
	if r.Run.Missed > 0 {
		fmt.Fprintf(&b, "missed: %d operations were due before the end but never started (every worker busy): the store did not keep up with the target rate\n", r.Run.Missed)
	}
	writeNotFound(&b, &r.Run)
	writeErrors(&b, &r.Run)
	if r.Interrupted {
		b.WriteString("interrupted: the figures cover the operations that completed before the stop\n")
	}
	b.WriteString(LatencyNote + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeLoadLine(b *strings.Builder, p *Phase) {
	t := p.Total
	fmt.Fprintf(b, "load: %d inserts in %s (%s ops/s, p50 %s, p99 %s), %d errors; %s\n",
		t.Count, p.Elapsed.Round(time.Millisecond), formatFloat(t.OpsPerSec), formatLatency(t.P50),
		formatLatency(t.P99), t.Errors, p.Model)
	for _, e := range p.Errors {
		fmt.Fprintf(b, "  load error × %d: %s\n", e.Count, e.Example)
	}
}

func writeTable(b *strings.Builder, p *Phase) {
	rows := [][]string{{"OPERATION", "COUNT", "OPS/S", "P50", "P95", "P99", "P99.9", "MAX", "ERRORS"}}
	for _, s := range append(append([]OpStats(nil), p.Ops...), p.Total) {
		rows = append(rows, []string{s.Op, strconv.FormatInt(s.Count, 10), formatFloat(s.OpsPerSec),
			formatLatency(s.P50), formatLatency(s.P95), formatLatency(s.P99), formatLatency(s.P999),
			formatLatency(s.Max), strconv.FormatInt(s.Errors, 10)})
	}
	writeAligned(b, rows)
}

// writeAligned prints rows as columns: the first left-aligned, the others
// right-aligned, two spaces apart.
func writeAligned(b *strings.Builder, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range rows {
		for i, cell := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell))
			switch {
			case i == 0:
				b.WriteString(cell + pad)
			default:
				b.WriteString("  " + pad + cell)
			}
		}
		b.WriteString("\n")
	}
}

func writeNotFound(b *strings.Builder, p *Phase) {
	for _, s := range p.Ops {
		if s.NotFound > 0 {
			fmt.Fprintf(b, "not found: %d %s operations read no value\n", s.NotFound, s.Op)
		}
	}
}

func writeErrors(b *strings.Builder, p *Phase) {
	for _, e := range p.Errors {
		fmt.Fprintf(b, "error: %s × %d: %s\n", e.Op, e.Count, e.Example)
	}
}

// formatLatency prints about three significant digits: 850µs, 3.12ms,
// 31.2ms, 312ms, 1.23s.
func formatLatency(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", ms(d))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", ms(d))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", ms(d))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// formatFloat prints a rate: whole numbers from 100 up, one decimal below.
func formatFloat(f float64) string {
	if f >= 100 || f == float64(int64(f)) {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// The JSON form: durations in microseconds, operation types keyed by name.
type (
	jsonResult struct {
		Workload    Workload   `json:"workload"`
		Target      string     `json:"target,omitempty"`
		Records     int64      `json:"records"`
		ValueSize   int        `json:"value_size"`
		Clients     int        `json:"clients"`
		Rate        float64    `json:"rate"` // 0: closed loop
		TimeoutMS   int64      `json:"timeout_ms"`
		LoadModel   string     `json:"load_model"`
		OpsPerSec   float64    `json:"ops_per_sec"` // of the run, all types
		Load        *jsonPhase `json:"load"`        // null when skipped
		Run         jsonPhase  `json:"run"`
		Interrupted bool       `json:"interrupted"`
		Note        string     `json:"latency_note"`
	}
	jsonPhase struct {
		Model      string            `json:"model"`
		ElapsedS   float64           `json:"elapsed_s"`
		Operations map[string]jsonOp `json:"operations"`
		Total      jsonOp            `json:"total"`
		Missed     int64             `json:"missed"`
		Errors     []jsonError       `json:"errors"`
		Series     []jsonSecond      `json:"series"`
	}
	jsonOp struct {
		Count     int64       `json:"count"`
		Errors    int64       `json:"errors"`
		NotFound  int64       `json:"not_found"`
		OpsPerSec float64     `json:"ops_per_sec"`
		MeanUS    float64     `json:"mean_us"`
		P50US     float64     `json:"p50_us"`
		P95US     float64     `json:"p95_us"`
		P99US     float64     `json:"p99_us"`
		P999US    float64     `json:"p999_us"`
		MaxUS     float64     `json:"max_us"`
		Curve     []jsonPoint `json:"percentiles,omitempty"`
	}
	jsonPoint struct {
		P  float64 `json:"p"`
		US float64 `json:"us"`
	}
	jsonSecond struct {
		T         int64   `json:"t"`
		Ops       int64   `json:"ops"`
		Errors    int64   `json:"errors"`
		OpsPerSec float64 `json:"ops_per_sec"`
		P99US     float64 `json:"p99_us"`
	}
	jsonError struct {
		Op      string `json:"op"`
		Count   int64  `json:"count"`
		Example string `json:"example"`
	}
)

// WriteJSON prints the result as one JSON object.
func (r *Result) WriteJSON(w io.Writer) error {
	out := jsonResult{Workload: r.Workload, Target: r.Target, Records: r.Records, ValueSize: r.ValueSize,
		Clients: r.Clients, Rate: r.Rate, TimeoutMS: r.Timeout.Milliseconds(), LoadModel: r.Run.Model,
		OpsPerSec: r.Run.Total.OpsPerSec, Run: toJSONPhase(&r.Run), Interrupted: r.Interrupted, Note: LatencyNote}
	if r.Load != nil {
		p := toJSONPhase(r.Load)
		out.Load = &p
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func toJSONPhase(p *Phase) jsonPhase {
	out := jsonPhase{Model: p.Model, ElapsedS: p.Elapsed.Seconds(), Operations: map[string]jsonOp{},
		Total: toJSONOp(p.Total), Missed: p.Missed, Errors: []jsonError{}, Series: []jsonSecond{}}
	for _, s := range p.Ops {
		out.Operations[s.Op] = toJSONOp(s)
	}
	for _, e := range p.Errors {
		out.Errors = append(out.Errors, jsonError{Op: e.Op, Count: e.Count, Example: e.Example})
	}
	for _, s := range p.Series {
		out.Series = append(out.Series, jsonSecond{T: s.T, Ops: s.Ops, Errors: s.Errors, OpsPerSec: s.OpsPerSec, P99US: us(s.P99)})
	}
	return out
}

func toJSONOp(s OpStats) jsonOp {
	o := jsonOp{Count: s.Count, Errors: s.Errors, NotFound: s.NotFound, OpsPerSec: s.OpsPerSec,
		MeanUS: us(s.Mean), P50US: us(s.P50), P95US: us(s.P95), P99US: us(s.P99), P999US: us(s.P999), MaxUS: us(s.Max)}
	for _, p := range s.Percentiles {
		o.Curve = append(o.Curve, jsonPoint{P: p.Percentile, US: us(p.Latency)})
	}
	return o
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
