package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/ringkv/ringkv/bench"
)

func sampleResult(t *testing.T, o bench.Options) *bench.Result {
	t.Helper()
	o.Records, o.Operations, o.Clients, o.Seed, o.Target = 100, 2000, 4, 5, "memory"
	res, err := bench.Run(context.Background(), newMemDriver(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestTextReportHasEveryOperationAndTheModel(t *testing.T) {
	res := sampleResult(t, bench.Options{Workload: mustPreset(t, "f")})
	var b bytes.Buffer
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"workload f: read 0.5, read-modify-write 0.5; zipfian", "target: memory",
		"load: 100 inserts", "run: closed loop, 4 clients",
		"OPERATION", "P50", "P95", "P99", "P99.9", "MAX", "ERRORS", bench.LatencyNote,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	for _, row := range []string{"READ", "READ-MODIFY-WRITE", "TOTAL"} {
		if !regexp.MustCompile(`(?m)^` + row + ` +\d+ `).MatchString(out) {
			t.Errorf("no %s row:\n%s", row, out)
		}
	}
}

func TestTextReportStatesTheOpenLoop(t *testing.T) {
	res := sampleResult(t, bench.Options{Workload: mustPreset(t, "c"), Rate: 50000})
	var b bytes.Buffer
	res.WriteText(&b)
	if !strings.Contains(b.String(), "open loop at 50000 ops/s target, latency from intended start") {
		t.Errorf("report does not state the open loop:\n%s", b.String())
	}
}

func TestJSONReportParsesWithItsFields(t *testing.T) {
	res := sampleResult(t, bench.Options{Workload: mustPreset(t, "a")})
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.TrimSpace(b.String()), "\n"); n != 0 {
		t.Errorf("JSON spans %d lines, want one object on one line", n+1)
	}
	var got struct {
		Workload  struct{ Name string } `json:"workload"`
		LoadModel string                `json:"load_model"`
		OpsPerSec float64               `json:"ops_per_sec"`
		Load      *struct{ Total struct{ Count int64 } }
		Run       struct {
			ElapsedS   float64 `json:"elapsed_s"`
			Operations map[string]struct {
				Count  int64   `json:"count"`
				Errors *int64  `json:"errors"`
				P50    float64 `json:"p50_us"`
				P99    float64 `json:"p99_us"`
				P999   float64 `json:"p999_us"`
				Max    float64 `json:"max_us"`
			} `json:"operations"`
			Total  struct{ Count int64 } `json:"total"`
			Series []struct {
				T   int64   `json:"t"`
				P99 float64 `json:"p99_us"`
			} `json:"series"`
		} `json:"run"`
		Note string `json:"latency_note"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, b.String())
	}
	read, update := got.Run.Operations["READ"], got.Run.Operations["UPDATE"]
	if got.Workload.Name != "a" || got.LoadModel != "closed loop, 4 clients" || got.Load == nil ||
		got.Load.Total.Count != 100 || got.Run.Total.Count != 2000 || read.Count+update.Count != 2000 ||
		read.Errors == nil || read.P50 <= 0 || read.Max < read.P999 || got.OpsPerSec <= 0 ||
		len(got.Run.Series) == 0 || got.Note == "" {
		t.Fatalf("JSON fields: %+v", got)
	}
}

func TestHTMLReportIsOneSelfContainedPage(t *testing.T) {
	m := newMemDriver()
	res, err := bench.Run(context.Background(), m, bench.Options{Workload: mustPreset(t, "a"),
		Records: 100, Operations: 2000, Clients: 4, Target: "<memory & co>"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Error("not one HTML document")
	}
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d <svg> charts, want 3 (throughput, p99, percentiles)", n)
	}
	for _, banned := range []string{"http://", "https://", "<script", "<link", "<img", "@import", "<memory"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q", banned)
		}
	}
	for _, want := range []string{"Throughput over time", "p99 latency over time", "Latency by percentile",
		"99.9%", "&lt;memory &amp; co&gt;", "<polyline"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
