package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
)

// Refusals come before any cluster is started or reached.
func TestVerifyRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "exactly one of --dev, --dir or --addr"},
		{[]string{"--dev", "--addr", "127.0.0.1:1"}, "exactly one of"},
		{[]string{"--addr", "127.0.0.1:1", "--nemesis", "kill"}, "--nemesis needs the nodes' processes"},
		{[]string{"--dev", "--nemesis", "kill,flood"}, `nemesis "flood"`},
		{[]string{"--dev", "--nodes", "0"}, "--nodes 0"},
		{[]string{"--dev", "--duration", "-1s"}, "must not be negative"},
		{[]string{"--dir", t.TempDir()}, "no cluster here"},
		{[]string{"--addr", "127.0.0.1:1", "--timeout", "1s"}, "node 127.0.0.1:1"},
	} {
		_, errOut, code := runCLI(t, append([]string{"verify"}, tc.args...)...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("verify %v: exit %d, stderr %q; want a refusal mentioning %q", tc.args, code, errOut, tc.want)
		}
	}
}

// --addr runs the workload with no faults against any cluster and prints
// the figures; a healthy cluster passes.
func TestVerifyAgainstAClusterByAddress(t *testing.T) {
	c := clustertest.New(t, 3, func(cfg *node.Config) { cfg.AntiEntropyInterval = 2 * time.Second })
	addrs := c.Addr("n1") + "," + c.Addr("n2") + "," + c.Addr("n3")
	out, errOut, code := runCLI(t, "verify", "--addr", addrs, "--duration", "2s", "--clients", "2", "--seed", "4")
	if code != 0 {
		t.Fatalf("verify exited %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"nemesis none, seed 4", "lost                             0", "resurrected                      0", "time to converge"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
