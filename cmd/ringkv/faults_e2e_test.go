package main_test

// Process-level fault injection: `ringkv dev partition`, `heal`, `slow`
// and `slow-disk` against real node processes (issue 11, done-when 1).

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/internal/testwait"
)

// seesDown reports whether observer counts every one of ids suspect or dead.
func (d *devCluster) seesDown(observer string, ids ...string) bool {
	st := d.statusStates(observer)
	for _, id := range ids {
		if s := st[id]; s != "suspect" && s != "dead" {
			return false
		}
	}
	return true
}

// waitAllAlive waits until every node sees every node alive.
func (d *devCluster) waitAllAlive(within time.Duration, ids ...string) {
	d.t.Helper()
	testwait.Until(d.t, within, "every node sees every node alive", func() bool {
		for _, o := range ids {
			st := d.statusStates(o)
			for _, id := range ids {
				if st[id] != "alive" {
					return false
				}
			}
		}
		return true
	})
}

// peerCall makes a replica read and an anti-entropy call on node at, as
// node from would, and returns their errors.
func (d *devCluster) peerCall(at, from string) (replica, entropy error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	read := connect.NewRequest(&ringkvv1.ReadRequest{Key: []byte("k")})
	read.Header().Set("Ringkv-From", from)
	_, replica = ringkvv1connect.NewReplicaServiceClient(http.DefaultClient, "http://"+d.addr(at)).Read(ctx, read)
	tree := connect.NewRequest(&ringkvv1.TreeHashesRequest{Partition: 0, Level: 0, Indexes: []uint32{0}})
	tree.Header().Set("Ringkv-From", from)
	_, entropy = ringkvv1connect.NewAntiEntropyServiceClient(http.DefaultClient, "http://"+d.addr(at)).TreeHashes(ctx, tree)
	return replica, entropy
}

func TestDevPartitionCutsEveryPathUntilHealed(t *testing.T) {
	d := startDevWith(t, 3, "--heartbeat-interval", "200ms")
	d.ok("put", "k", "before", "--w", "3")
	if out := d.ok("dev", "partition", "n1,n2", "n3", "--dir", d.dir); !strings.Contains(out, "faults in force: partition n1,n2 | n3") {
		t.Fatalf("dev partition printed %q", out)
	}
	if out := d.ok("dev", "status", "--dir", d.dir); !strings.Contains(out, "cut from n1,n2") || !strings.Contains(out, "cut from n3") {
		t.Fatalf("dev status does not show the partition:\n%s", out)
	}
	start := time.Now()
	testwait.Until(t, 20*time.Second, "each side suspects the other", func() bool {
		return d.seesDown("n1", "n3") && d.seesDown("n2", "n3") && d.seesDown("n3", "n1", "n2")
	})
	t.Logf("both sides suspect each other %s after the partition", time.Since(start).Round(time.Millisecond))

	if msg := d.fails("", "put", "k", "during", "--w", "3", "--addr", d.addr("n1")); !strings.Contains(msg, "2 of 3 replicas acknowledged") {
		t.Fatalf("put --w 3 through n1 across the partition: %q, want n3 not to acknowledge", msg)
	}
	d.fails("", "get", "k", "--r", "3", "--addr", d.addr("n3"))
	for _, c := range [][2]string{{"n3", "n1"}, {"n1", "n3"}} {
		replica, entropy := d.peerCall(c[0], c[1])
		for _, err := range []error{replica, entropy} {
			if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), c[0]+" refuses calls from "+c[1]) {
				t.Fatalf("peer call on %s from %s across the partition: %v, want it refused", c[0], c[1], err)
			}
		}
	}
	if replica, entropy := d.peerCall("n3", "n3"); replica != nil || entropy != nil {
		t.Fatalf("peer calls on n3 from its own side: %v, %v", replica, entropy)
	}
	// Clients reach both sides.
	if g := d.get("k", "--r", "1", "--addr", d.addr("n3")); !g.Found {
		t.Fatalf("get --r 1 through n3 during the partition: %+v", g)
	}
	if out := d.ok("status", "--addr", d.addr("n3")); !strings.Contains(out, "injected faults (--dev-faults): partition n1,n2 | n3") {
		t.Fatalf("status on n3 does not show the partition:\n%s", out)
	}

	// A node restarted during the partition gets it again once it serves.
	d.ok("dev", "kill", "n3", "--dir", d.dir)
	d.ok("dev", "start", "n3", "--dir", d.dir)
	if out := d.ok("status", "--addr", d.addr("n3")); !strings.Contains(out, "partition n1,n2 | n3") {
		t.Fatalf("n3 restarted during the partition does not hold it:\n%s", out)
	}

	if out := d.ok("dev", "heal", "--dir", d.dir); !strings.Contains(out, "faults in force: none") {
		t.Fatalf("dev heal printed %q", out)
	}
	start = time.Now()
	d.waitAllAlive(30*time.Second, "n1", "n2", "n3")
	t.Logf("every node sees every node alive %s after the heal", time.Since(start).Round(time.Millisecond))
	for _, id := range []string{"n1", "n2", "n3"} {
		testwait.Until(t, 15*time.Second, "put --w 3 through "+id, func() bool {
			_, _, code := d.run("", "put", "k", "after-"+id, "--w", "3", "--addr", d.addr(id))
			return code == 0
		})
	}
}

// faultsOf is node id's faults as its status reports them.
func (d *devCluster) faultsOf(id string) (slowMs, slowDiskMs float64) {
	d.t.Helper()
	var st struct {
		Faults struct {
			SlowMs     float64 `json:"slow_ms"`
			SlowDiskMs float64 `json:"slow_disk_ms"`
		}
	}
	if err := json.Unmarshal([]byte(d.ok("status", "--json", "--addr", d.addr(id))), &st); err != nil {
		d.t.Fatal(err)
	}
	return st.Faults.SlowMs, st.Faults.SlowDiskMs
}

// timedPut is how long `put --w 3` through node id takes, CLI start-up
// included.
func (d *devCluster) timedPut(id, key string) time.Duration {
	d.t.Helper()
	start := time.Now()
	d.ok("put", key, "v", "--w", "3", "--addr", d.addr(id))
	return time.Since(start)
}

func TestDevSlowLinkAndSlowDiskDelayWrites(t *testing.T) {
	d := startDev(t, 3)
	t.Logf("put --w 3 through n1, no fault: %s", d.timedPut("n1", "warm").Round(time.Millisecond))
	const latency = 200 * time.Millisecond

	if out := d.ok("dev", "slow", "n1", "200ms", "--dir", d.dir); !strings.Contains(out, "slow n1 200ms") {
		t.Fatalf("dev slow printed %q", out)
	}
	if slow, _ := d.faultsOf("n1"); slow != 200 {
		t.Fatalf("status on n1 shows slow %v ms, want 200", slow)
	}
	took := d.timedPut("n1", "slow-link")
	t.Logf("put --w 3 through n1 with n1 slowed by %s: %s", latency, took.Round(time.Millisecond))
	if took < latency {
		t.Fatalf("put --w 3 through the slowed n1 took %s, less than its %s latency", took, latency)
	}
	// n1's answers to the calls of others are slowed too.
	took = d.timedPut("n2", "slow-link-answers")
	t.Logf("put --w 3 through n2 with n1 slowed by %s: %s", latency, took.Round(time.Millisecond))
	if took < latency {
		t.Fatalf("put --w 3 through n2 waiting for the slowed n1 took %s, less than its %s latency", took, latency)
	}

	d.ok("dev", "slow", "n1", "0", "--dir", d.dir)
	if out := d.ok("dev", "slow-disk", "n2", "200ms", "--dir", d.dir); !strings.Contains(out, "faults in force: slow-disk n2 200ms") {
		t.Fatalf("dev slow-disk printed %q", out)
	}
	if _, disk := d.faultsOf("n2"); disk != 200 {
		t.Fatalf("status on n2 shows slow disk %v ms, want 200", disk)
	}
	took = d.timedPut("n1", "slow-disk")
	t.Logf("put --w 3 through n1 with n2's fsyncs slowed by %s: %s", latency, took.Round(time.Millisecond))
	if took < latency {
		t.Fatalf("put --w 3 waiting for n2's slowed fsync took %s, less than its %s latency", took, latency)
	}

	d.ok("dev", "heal", "--dir", d.dir)
	if slow, disk := d.faultsOf("n2"); slow != 0 || disk != 0 {
		t.Fatalf("after heal n2 shows slow %v ms, slow disk %v ms", slow, disk)
	}
	d.fails("", "dev", "slow", "n1", "11s", "--dir", d.dir)
	d.fails("", "dev", "partition", "n1", "n2", "--dir", d.dir) // n3 in no group
}

// A node paused when the partition comes is told when it resumes; the
// command does not wait for it meanwhile.
func TestDevPartitionReachesAPausedNodeOnResume(t *testing.T) {
	d := startDev(t, 3)
	d.ok("dev", "pause", "n3", "--dir", d.dir)
	testwait.Until(t, 5*time.Second, "n3 paused", func() bool {
		return strings.Contains(d.ok("dev", "status", "--dir", d.dir), "paused")
	})
	d.ok("dev", "partition", "n1", "n2,n3", "--dir", d.dir)
	if out := d.ok("status", "--addr", d.addr("n2")); !strings.Contains(out, "partition n1 | n2,n3") {
		t.Fatalf("n2 does not hold the partition:\n%s", out)
	}
	d.ok("dev", "resume", "n3", "--dir", d.dir)
	if out := d.ok("status", "--addr", d.addr("n3")); !strings.Contains(out, "injected faults (--dev-faults): partition n1 | n2,n3") {
		t.Fatalf("n3 resumed does not hold the partition:\n%s", out)
	}
}
