package bench_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ringkv/ringkv/bench"
)

func props(t *testing.T, text string) bench.Properties {
	t.Helper()
	p, err := bench.ReadProperties(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Each shipped file means the same mix as the preset of its name, with
// YCSB's 1 KB records.
func TestShippedWorkloadFilesMatchThePresets(t *testing.T) {
	for _, name := range []string{"a", "b", "c", "d", "f", "w"} {
		raw, err := os.ReadFile("workloads/workload" + name)
		if err != nil {
			t.Fatal(err)
		}
		if embedded, ok := bench.WorkloadFile("workload" + name); !ok || string(embedded) != string(raw) {
			t.Errorf("workload%s: the embedded copy differs from the file", name)
		}
		var o bench.Options
		warnings, err := props(t, string(raw)).Apply(&o, true)
		if err != nil || len(warnings) > 0 {
			t.Fatalf("workload%s: %v %v", name, err, warnings)
		}
		want, _ := bench.Preset(name)
		o.Workload.Name = name
		if o.Workload != want {
			t.Errorf("workload%s = %+v, want %+v", name, o.Workload, want)
		}
		if o.ValueSize != 1000 || o.Records != 1000 || o.Operations != 1000 || o.Duration != 0 {
			t.Errorf("workload%s: value size %d, records %d, operations %d, duration %s; want 1000, 1000, 1000, 0",
				name, o.ValueSize, o.Records, o.Operations, o.Duration)
		}
	}
}

func TestPropertiesSyntax(t *testing.T) {
	p := props(t, "# comment\n! also a comment\n  recordcount = 5\noperationcount: 7\nfieldlength 20\n"+
		"readproportion=0.\\\n  5\n")
	for k, want := range map[string]string{"recordcount": "5", "operationcount": "7", "fieldlength": "20", "readproportion": "0.5"} {
		if got, _ := p.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// A file starts from YCSB's defaults for what it leaves out of the mix; a
// later Set (-p) overrides the file.
func TestPropertiesDefaultsAndOverrides(t *testing.T) {
	p := props(t, "recordcount=500\nreadproportion=0.8\nmaxexecutiontime=12\nfieldcount=2\n")
	p.Set("recordcount", "700")
	o := bench.Options{Duration: time.Minute, Clients: 3}
	if _, err := p.Apply(&o, true); err != nil {
		t.Fatal(err)
	}
	if o.Records != 700 || o.Workload.ReadProp != 0.8 || o.Workload.UpdateProp != 0.05 ||
		o.Workload.Distribution != bench.Uniform || o.ValueSize != 200 || o.Duration != 12*time.Second || o.Clients != 3 {
		t.Errorf("options after the file: %+v", o)
	}
}

// -p alone changes only what it names.
func TestSinglePropertyKeepsTheRest(t *testing.T) {
	o := bench.Options{Workload: mustPreset(t, "d"), ValueSize: 64}
	var p bench.Properties
	p.Set("threadcount", "4")
	p.Set("target", "250")
	if _, err := p.Apply(&o, false); err != nil {
		t.Fatal(err)
	}
	if o.Workload != mustPreset(t, "d") || o.ValueSize != 64 || o.Clients != 4 || o.Rate != 250 {
		t.Errorf("options: %+v", o)
	}
}

func TestPropertiesRefuseBadValues(t *testing.T) {
	for _, text := range []string{
		"recordcount=abc", "recordcount=0", "readproportion=-1", "updateproportion=NaN",
		"requestdistribution=hotspot", "insertorder=random", "fieldlength=1.5",
		"readproportion=0\nupdateproportion=0", "recordcount=1\\",
	} {
		p, err := bench.ReadProperties(strings.NewReader(text))
		if err == nil {
			var o bench.Options
			_, err = p.Apply(&o, true)
		}
		if !errors.Is(err, bench.ErrInvalid) {
			t.Errorf("%q: err = %v, want ErrInvalid", text, err)
		}
	}
}

func TestScansAreRefused(t *testing.T) {
	var o bench.Options
	_, err := props(t, "readproportion=0.95\nscanproportion=0.05\n").Apply(&o, true)
	if err == nil || !strings.Contains(err.Error(), "scans are not supported") {
		t.Fatalf("err = %v, want a refusal of scans", err)
	}
	if _, err := props(t, "scanproportion=0\n").Apply(&o, true); err != nil {
		t.Fatalf("scanproportion=0 refused: %v", err)
	}
}

func TestUnknownPropertiesWarn(t *testing.T) {
	var o bench.Options
	warnings, err := props(t, "workload=site.ycsb.workloads.CoreWorkload\nreadallfields=true\nhotspotdatafraction=0.2\n").Apply(&o, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "hotspotdatafraction") {
		t.Fatalf("warnings = %q, want one about hotspotdatafraction", warnings)
	}
}

func mustPreset(t *testing.T, name string) bench.Workload {
	t.Helper()
	w, err := bench.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
