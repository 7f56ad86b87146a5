package verify

import (
	"encoding/json"
	"strings"
	"testing"
)

func sampleReport() *Report {
	ops := []Op{add("k", 1, OK, 0, 1), add("k", 2, OK, 1, 2.5), add("k", 3, Info, 2, 3.5), del("k", OK, 1)}
	events := []Event{{Kind: Partition, Groups: [][]string{{"n1"}, {"n2", "n3"}}, Start: at(1), End: at(3)}}
	final := finalOf(map[string][]uint64{"k": {1}})
	r := &Report{Seed: 9, Nodes: []string{"n1", "n2", "n3"}, Replicas: 3, Nemesis: []Kind{Partition}, Converged: true,
		ConvergeTime: at(2.5), HealedAt: at(7), Verdict: Check(ops, events, final), Events: events, ops: ops}
	r.Counts, r.Timeline = countOps(ops), timeline(ops)
	return r
}

func TestTheSummaryNamesEveryFigureAndWhyTheRunFailed(t *testing.T) {
	r := sampleReport()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"acknowledged", "lost", "indeterminate, seen", "indeterminate, absent",
		"resurrected", "replicas that differ", "time to converge", "r=1", "r=quorum", "partition n1 | n2,n3",
		"key k: 2 acknowledged, 1 lost [2], 1 resurrected [1]"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if !r.Failed() || r.Problem() != "1 acknowledged elements lost, 1 deleted elements resurrected" {
		t.Fatalf("failed %t, problem %q", r.Failed(), r.Problem())
	}
}

func TestTheJSONReportCarriesTheTotals(t *testing.T) {
	var b strings.Builder
	if err := sampleReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Totals Totals  `json:"totals"`
		Events []Event `json:"events"`
	}
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatal(err)
	}
	if got.Totals.Lost != 1 || got.Totals.Resurrected != 1 || len(got.Events) != 1 {
		t.Fatalf("JSON totals %+v, %d events", got.Totals, len(got.Events))
	}
}

func TestTheHTMLReportIsSelfContainedWithABandPerFault(t *testing.T) {
	var b strings.Builder
	if err := sampleReport().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, banned := range []string{"<script", "src=", "href=", "@import"} {
		if strings.Contains(page, banned) {
			t.Fatalf("page loads something (%s)", banned)
		}
	}
	if strings.Count(page, `fill-opacity="0.18"`) != 1 || !strings.Contains(page, "healed") {
		t.Fatal("page lacks the fault band or the heal line")
	}
}
