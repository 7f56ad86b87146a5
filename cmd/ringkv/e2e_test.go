package main_test

// Process-level tests: the real ringkv binary, its nodes started by
// `ringkv dev up`, killed with SIGKILL and stopped with SIGTERM, driven
// through the CLI exactly as the README shows.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/devcluster"
	"github.com/ringkv/ringkv/internal/testwait"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ringkv-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ringkv")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ringkv: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// devCluster is a `ringkv dev` cluster in a temporary directory.
type devCluster struct {
	t    *testing.T
	dir  string
	base int
}

func startDev(t *testing.T, nodes int) *devCluster {
	t.Helper()
	return startDevWith(t, nodes)
}

// startDevWith passes serveFlags to every node (after `--`).
func startDevWith(t *testing.T, nodes int, serveFlags ...string) *devCluster {
	t.Helper()
	d := &devCluster{t: t, dir: t.TempDir(), base: freeBase(t, nodes)}
	t.Cleanup(func() { d.run("", "dev", "down", "--dir", d.dir) })
	args := []string{"dev", "up", "--nodes", fmt.Sprint(nodes), "--dir", d.dir, "--base-port", fmt.Sprint(d.base), "--"}
	out, errOut, code := d.run("", append(args, serveFlags...)...)
	if code != 0 {
		t.Fatalf("dev up: exit %d\n%s\n%s\n%s", code, out, errOut, d.logs())
	}
	for i := 1; i <= nodes; i++ {
		if !strings.Contains(out, fmt.Sprintf("n%d ", i)) {
			t.Fatalf("dev up table lacks n%d:\n%s", i, out)
		}
	}
	return d
}

// freeBase finds a base port whose API and gossip ports are all free.
func freeBase(t *testing.T, nodes int) int {
	t.Helper()
	base, err := devcluster.FreeBasePort(nodes)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

func (d *devCluster) addr(id string) string {
	var i int
	fmt.Sscanf(id, "n%d", &i)
	return fmt.Sprintf("127.0.0.1:%d", d.base+i-1)
}

// run executes the binary with stdin and returns stdout, stderr and the
// exit status.
func (d *devCluster) run(stdin string, args ...string) (string, string, int) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "RINGKV_ADDR="+d.addr("n1"))
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return out.String(), errOut.String(), code
}

// ok runs a command that must succeed and returns its stdout.
func (d *devCluster) ok(args ...string) string {
	d.t.Helper()
	out, errOut, code := d.run("", args...)
	if code != 0 {
		d.t.Fatalf("ringkv %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// fails runs a command that must fail and returns its stderr.
func (d *devCluster) fails(stdin string, args ...string) string {
	d.t.Helper()
	out, errOut, code := d.run(stdin, args...)
	if code == 0 {
		d.t.Fatalf("ringkv %s succeeded, want failure: %s", strings.Join(args, " "), out)
	}
	return errOut
}

func (d *devCluster) logs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(d.dir, "*", "node.log"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "== %s\n%s\n", f, raw)
	}
	return b.String()
}

type getOut struct {
	Key     string   `json:"key"`
	Found   bool     `json:"found"`
	Values  []string `json:"values"`
	Context string   `json:"context"`
}

func (d *devCluster) get(key string, args ...string) getOut {
	d.t.Helper()
	var g getOut
	out := d.ok(append([]string{"get", key, "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		d.t.Fatalf("get --json printed %q: %v", out, err)
	}
	slices.Sort(g.Values)
	return g
}

func (d *devCluster) statusStates(id string) map[string]string {
	out, _, code := d.run("", "status", "--json", "--addr", d.addr(id))
	states := map[string]string{}
	if code != 0 {
		return states
	}
	var st struct {
		Members []struct{ ID, State string }
	}
	if json.Unmarshal([]byte(out), &st) == nil {
		for _, m := range st.Members {
			states[m.ID] = m.State
		}
	}
	return states
}

func TestBinaryClusterFormsAndServesQuorumsAndSiblings(t *testing.T) {
	d := startDev(t, 3)
	for _, id := range []string{"n1", "n2", "n3"} {
		st := d.statusStates(id)
		if len(st) != 3 || st["n1"] != "alive" || st["n2"] != "alive" || st["n3"] != "alive" {
			t.Fatalf("status on %s: %v, want three alive", id, st)
		}
	}

	d.ok("put", "k", "v", "--w", "3", "--addr", d.addr("n1"))
	if g := d.get("k", "--r", "3", "--addr", d.addr("n3")); !g.Found || !slices.Equal(g.Values, []string{"v"}) {
		t.Fatalf("get k --r 3 via n3: %+v", g)
	}
	d.ok("put", "k1", "v1", "--w", "1")
	d.ok("get", "k1", "--r", "1")
	if msg := d.fails("", "put", "k", "v", "--w", "4"); !strings.Contains(msg, "w=4 is outside 1..3") {
		t.Fatalf("put --w 4: %q", msg)
	}

	// Two writes from one context, through different nodes, are siblings;
	// a write with the context that saw both leaves one value.
	ctx := d.get("cart").Context
	d.ok("put", "cart", "apple", "--context", ctx, "--addr", d.addr("n1"))
	d.ok("put", "cart", "pear", "--context", ctx, "--addr", d.addr("n2"))
	both := d.get("cart", "--r", "3")
	if !slices.Equal(both.Values, []string{"apple", "pear"}) {
		t.Fatalf("siblings: %+v", both)
	}
	d.ok("put", "cart", "apple,pear", "--context", both.Context, "--w", "3")
	if g := d.get("cart", "--r", "3", "--addr", d.addr("n2")); !slices.Equal(g.Values, []string{"apple,pear"}) {
		t.Fatalf("after resolving: %+v", g)
	}

	d.ok("del", "cart", "--w", "3")
	if g := d.get("cart", "--r", "3"); g.Found || len(g.Values) != 0 {
		t.Fatalf("after del: %+v", g)
	}

	// Bad input is refused clearly and the node keeps serving.
	if msg := d.fails("", "put", strings.Repeat("k", 3072), "v"); !strings.Contains(msg, "limit is 2048") {
		t.Fatalf("3 KiB key: %q", msg)
	}
	if msg := d.fails(strings.Repeat("x", 1<<20+1), "put", "big", "-"); !strings.Contains(msg, "--max-value-bytes") {
		t.Fatalf("value over 1 MiB: %q", msg)
	}
	if msg := d.fails("", "put", "k", "v", "--context", "bm90IGEgY29udGV4dA=="); !strings.Contains(msg, "context") {
		t.Fatalf("garbage context: %q", msg)
	}
	if msg := d.fails("", "put", "k", "v", "--context", "%%%"); !strings.Contains(msg, "base64") {
		t.Fatalf("non-base64 context: %q", msg)
	}
	binaryValue := "a\x00b\nc\xff"
	d.ok("put", "bin", "-") // empty value from empty stdin
	if _, errOut, code := d.run(binaryValue, "put", "bin", "-", "--w", "3"); code != 0 {
		t.Fatalf("binary put from stdin: %s", errOut)
	}
	if out := d.ok("get", "bin", "--r", "3"); !strings.Contains(out, binaryValue+"\n") {
		t.Fatalf("binary value came back as %q", out)
	}
	// No ring change starts a transfer yet: every node lists none.
	if out := d.ok("transfers", "--addr", d.addr("n2")); !strings.Contains(out, "node n2: 0 transfers") {
		t.Fatalf("transfers on n2: %q", out)
	}
}

func TestBinaryRestartAndKill(t *testing.T) {
	d := startDev(t, 3)
	for i := range 20 {
		d.ok("put", fmt.Sprintf("key-%d", i), fmt.Sprintf("value-%d", i), "--w", "2", "--addr", d.addr(fmt.Sprintf("n%d", i%3+1)))
	}
	// SIGTERM every node, start them again on the same directories.
	for _, id := range []string{"n1", "n2", "n3"} {
		d.ok("dev", "stop", id, "--dir", d.dir)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		d.ok("dev", "start", id, "--dir", d.dir)
		// dev start returns once the node serves: the next command reaches it.
		d.ok("status", "--addr", d.addr(id))
	}
	testwait.Until(t, 30*time.Second, "restarted cluster converged", func() bool {
		st := d.statusStates("n1")
		return st["n1"] == "alive" && st["n2"] == "alive" && st["n3"] == "alive"
	})
	for i := range 20 {
		if g := d.get(fmt.Sprintf("key-%d", i), "--r", "3"); !slices.Equal(g.Values, []string{fmt.Sprintf("value-%d", i)}) {
			t.Fatalf("key-%d after restart: %+v", i, g)
		}
	}

	// SIGKILL one node: quorums of two still work, three is indeterminate.
	d.ok("dev", "kill", "n3", "--dir", d.dir)
	d.ok("get", "key-1", "--r", "2")
	d.ok("put", "after-kill", "v", "--w", "2")
	msg := d.fails("", "put", "after-kill-3", "v", "--w", "3", "--timeout", "3s")
	if !strings.Contains(msg, "2 of 3 replicas acknowledged") || !strings.Contains(msg, "indeterminate") {
		t.Fatalf("put --w 3 with n3 killed: %q", msg)
	}
}
