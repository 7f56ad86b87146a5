package main_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/devcluster"
	"github.com/ringkv/ringkv/internal/freeport"
	"github.com/ringkv/ringkv/internal/testwait"
)

type ringOut struct {
	Version uint64 `json:"version"`
	Digest  string `json:"digest"`
	Members []struct {
		ID      string `json:"id"`
		Phase   string `json:"phase"`
		Owned   int    `json:"owned"`
		Pending int    `json:"pending"`
	} `json:"members"`
	Transfers int `json:"transfers"`
}

func (d *devCluster) ring(addr string) (ringOut, bool) {
	out, _, code := d.run("", "ring", "--json", "--addr", addr)
	var r ringOut
	return r, code == 0 && json.Unmarshal([]byte(out), &r) == nil
}

// startJoiner starts a node process n4 that joins the dev cluster through
// n1's gossip address, with no --initial-members, and returns its API
// address. It is killed at cleanup.
func (d *devCluster) startJoiner(id string) string {
	d.t.Helper()
	base, err := freeport.Base(0, 1)
	if err != nil {
		d.t.Fatal(err)
	}
	api, gossip := fmt.Sprintf("127.0.0.1:%d", base), fmt.Sprintf("127.0.0.1:%d", base+1)
	logf, err := os.Create(filepath.Join(d.t.TempDir(), id+".log"))
	if err != nil {
		d.t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--id", id, "--dir", filepath.Join(d.t.TempDir(), id), "--listen", api, "--gossip", gossip,
		"--seeds", fmt.Sprintf("127.0.0.1:%d", d.base+devcluster.GossipOffset))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		logf.Close()
	})
	return api
}

// Done-when 1, process level: `ring plan --add` predicts the move before
// anything changes (about 1/4 of the partition-replicas for 3 → 4 nodes
// at N=3), and after a 4th node joins, `ringkv ring` on every node shows
// the same digest, with the joiner pending for its partitions and owning
// none (data does not move yet).
func TestBinaryJoinSpreadsOneRing(t *testing.T) {
	d := startDev(t, 3)
	var plan struct {
		Moved    int     `json:"moved"`
		Replicas int     `json:"replicas"`
		Fraction float64 `json:"fraction"`
		Members  []struct {
			ID string `json:"id"`
			In int    `json:"in"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(d.ok("ring", "plan", "--add", "n4", "--json")), &plan); err != nil {
		t.Fatal(err)
	}
	if math.Abs(plan.Fraction-0.25) > 0.025 || plan.Replicas != 3*256 {
		t.Fatalf("plan --add n4: %+v; want about 1/4 of 768 partition-replicas", plan)
	}
	if text := d.ok("ring", "plan", "--add", "n4"); !strings.Contains(text, fmt.Sprintf("%d of 768 partition-replicas would move", plan.Moved)) {
		t.Fatalf("ring plan printed:\n%s", text)
	}
	n4 := d.startJoiner("n4")
	addrs := []string{d.addr("n1"), d.addr("n2"), d.addr("n3"), n4}
	var first ringOut
	testwait.Until(t, 30*time.Second, "every node to show the same ring with n4", func() bool {
		var ok bool
		if first, ok = d.ring(addrs[0]); !ok || len(first.Members) != 4 {
			return false
		}
		for _, a := range addrs[1:] {
			if r, ok := d.ring(a); !ok || r.Digest != first.Digest {
				return false
			}
		}
		return true
	})
	joiner := first.Members[3]
	if joiner.ID != "n4" || joiner.Phase != "joining" || joiner.Owned != 0 || joiner.Pending != plan.Moved || first.Transfers != plan.Moved {
		t.Fatalf("after the join: %+v; want n4 joining, pending for the %d partitions the plan predicted", first, plan.Moved)
	}
}
