package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringkv/ringkv/internal/cli"
	"github.com/ringkv/ringkv/internal/clustertest"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Main(context.Background(), args, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errOut})
	return out.String(), errOut.String(), code
}

type benchJSON struct {
	Workload struct {
		Name     string  `json:"name"`
		ReadProp float64 `json:"read_proportion"`
		Dist     string  `json:"request_distribution"`
	} `json:"workload"`
	Target    string  `json:"target"`
	Records   int64   `json:"records"`
	ValueSize int     `json:"value_size"`
	LoadModel string  `json:"load_model"`
	OpsPerSec float64 `json:"ops_per_sec"`
	Load      *struct {
		Total struct {
			Count  int64 `json:"count"`
			Errors int64 `json:"errors"`
		} `json:"total"`
	} `json:"load"`
	Run struct {
		Operations map[string]struct {
			Count int64   `json:"count"`
			P99   float64 `json:"p99_us"`
		} `json:"operations"`
		Total struct {
			Count    int64 `json:"count"`
			Errors   int64 `json:"errors"`
			NotFound int64 `json:"not_found"`
		} `json:"total"`
	} `json:"run"`
}

func benchRun(t *testing.T, args ...string) benchJSON {
	t.Helper()
	out, errOut, code := runCLI(t, append([]string{"bench", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("bench exited %d: %s", code, errOut)
	}
	var got benchJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	return got
}

func TestBenchAgainstACluster(t *testing.T) {
	c := clustertest.New(t, 3)
	addrs := c.Addr("n1") + "," + c.Addr("n2") + "," + c.Addr("n3")

	got := benchRun(t, "--addr", addrs, "--records", "200", "--duration", "1s", "--clients", "4", "--r", "2", "--w", "2")
	if got.Workload.Name != "a" || got.LoadModel != "closed loop, 4 clients" || got.Records != 200 ||
		got.Load == nil || got.Load.Total.Count != 200 || got.Load.Total.Errors != 0 ||
		got.Run.Total.Count == 0 || got.Run.Total.Errors != 0 || got.Run.Total.NotFound != 0 ||
		got.Run.Operations["READ"].Count == 0 || got.Run.Operations["UPDATE"].Count == 0 ||
		got.Run.Operations["READ"].P99 <= 0 || got.OpsPerSec <= 0 || !strings.Contains(got.Target, "r=2, w=2") {
		t.Fatalf("bench result: %+v", got)
	}

	// -P takes YCSB's file (1000 records of 10 × 100 bytes, read only);
	// flags override it, and --operations bounds the run.
	got = benchRun(t, "--addr", addrs, "-P", "workloadc", "--records", "200", "--no-load", "--operations", "300", "--clients", "2")
	if got.Workload.Name != "workloadc" || got.Workload.ReadProp != 1 || got.Workload.Dist != "zipfian" ||
		got.Records != 200 || got.ValueSize != 1000 || got.Load != nil || got.Run.Total.Count != 300 || got.Run.Total.Errors != 0 {
		t.Fatalf("-P workloadc: %+v", got)
	}
}

func TestBenchWritesTheHTMLReport(t *testing.T) {
	c := clustertest.New(t, 3)
	page := filepath.Join(t.TempDir(), "b.html")
	out, errOut, code := runCLI(t, "bench", "--addr", c.Addr("n1"), "--records", "100", "--operations", "200",
		"--clients", "2", "--html", page)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "run: closed loop, 2 clients") || !strings.Contains(errOut, "wrote "+page) {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	raw, err := os.ReadFile(page)
	if err != nil || !bytes.Contains(raw, []byte("<svg")) {
		t.Fatalf("report %s: %v", page, err)
	}
}

// Refusals come before any connection: a bad file or flag fails at once.
func TestBenchRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-p", "scanproportion=0.05"}, "scans are not supported"},
		{[]string{"--workload", "e"}, `workload "e"`},
		{[]string{"--distribution", "hotspot"}, "hotspot"},
		{[]string{"-P", "/nonexistent/workloadq"}, "-P"},
		{[]string{"--updates", "sometimes"}, "--updates"},
		{[]string{"--addr", "127.0.0.1:1", "--timeout", "1s"}, "node 127.0.0.1:1"},
	} {
		_, errOut, code := runCLI(t, append([]string{"bench"}, tc.args...)...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("bench %v: exit %d, stderr %q; want a refusal mentioning %q", tc.args, code, errOut, tc.want)
		}
	}
}
