package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
)

// `ringkv ring` and `ring plan` against an in-process cluster: the ring as
// JSON, a plan's fraction, and clear errors for plans that cannot be made.
func TestRingAndPlanCommands(t *testing.T) {
	c := clustertest.New(t, 3, func(cfg *node.Config) { cfg.Partitions = 16 })
	out, errOut, code := runCLI(t, "ring", "--json", "--addr", c.Addr("n2"))
	var r struct {
		Digest  string `json:"digest"`
		Members []struct {
			ID    string `json:"id"`
			Phase string `json:"phase"`
			Owned int    `json:"owned"`
		} `json:"members"`
		Transfers int `json:"transfers"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || len(r.Members) != 3 || r.Transfers != 0 {
		t.Fatalf("ring --json: exit %d, %q, %q", code, out, errOut)
	}
	for _, m := range r.Members {
		if m.Phase != "valid" || m.Owned != 16 {
			t.Fatalf("founder %+v: want valid, owning all 16 partitions", m)
		}
	}
	out, errOut, code = runCLI(t, "ring", "plan", "--add", "n4", "--addr", c.Addr("n1"))
	if code != 0 || !strings.Contains(out, "of 48 partition-replicas would move") || !strings.Contains(out, "bytes: not estimated yet") {
		t.Fatalf("ring plan --add n4: exit %d\n%s%s", code, out, errOut)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"ring", "plan"}, "give at least one --add or --remove"},
		{[]string{"ring", "plan", "--remove", "n9"}, "unknown member"},
		{[]string{"ring", "plan", "--remove", "n1"}, "too few members would remain"},
	} {
		_, errOut, code := runCLI(t, append(bad.args, "--addr", c.Addr("n1"))...)
		if code == 0 || !strings.Contains(errOut, bad.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error saying %q", bad.args, code, errOut, bad.want)
		}
	}
}
