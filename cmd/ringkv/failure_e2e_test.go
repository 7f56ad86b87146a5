package main_test

// Process-level failure handling: nodes killed with SIGKILL, paused with
// SIGSTOP and restarted, through `ringkv dev` and the CLI, as the README's
// walk-through does it.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/testwait"
)

type memberStatus struct {
	ID    string  `json:"id"`
	State string  `json:"state"`
	Phi   float64 `json:"phi"`
	Hints struct {
		Count uint64 `json:"count"`
	} `json:"hints"`
}

func (d *devCluster) member(observer, id string) (memberStatus, bool) {
	out, _, code := d.run("", "status", "--json", "--addr", d.addr(observer))
	if code != 0 {
		return memberStatus{}, false
	}
	var st struct{ Members []memberStatus }
	if json.Unmarshal([]byte(out), &st) != nil {
		return memberStatus{}, false
	}
	for _, m := range st.Members {
		if m.ID == id {
			return m, true
		}
	}
	return memberStatus{}, false
}

func (d *devCluster) localValues(id, key string) []string {
	g := d.get(key, "--local", "--addr", d.addr(id))
	return g.Values
}

// Kill n3, write 500 keys with w=2, watch n1 suspect n3 and hold hints for
// it; restart n3 and watch the hints drain and the keys arrive.
func TestKillAWriteHeavyNodeAndWatchHandoff(t *testing.T) {
	d := startDev(t, 3)
	d.ok("dev", "kill", "n3", "--dir", d.dir)

	c := client.New(d.addr("n1"))
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for w := range 8 { // eight concurrent writers, 500 puts in all
		wg.Go(func() {
			for i := w; i < 500; i += 8 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := c.Put(ctx, []byte(fmt.Sprintf("key-%d", i)), []byte(fmt.Sprintf("value-%d", i)), nil, 2)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("put key-%d: %w", i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "n1 suspects n3 and holds hints for it", func() bool {
		m, ok := d.member("n1", "n3")
		return ok && (m.State == "suspect" || m.State == "dead") && m.Hints.Count > 0
	})

	d.ok("dev", "start", "n3", "--dir", d.dir)
	testwait.Until(t, 30*time.Second, "no hints waiting for n3", func() bool {
		m, ok := d.member("n1", "n3")
		return ok && m.Hints.Count == 0
	})
	n3 := client.New(d.addr("n3"))
	defer n3.Close()
	for i := range 500 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := n3.GetLocal(ctx, []byte(fmt.Sprintf("key-%d", i)))
		cancel()
		if err != nil || len(res.Values) != 1 || string(res.Values[0]) != fmt.Sprintf("value-%d", i) {
			t.Fatalf("get key-%d --local on n3: %q, %v", i, res.Values, err)
		}
	}
	if got := d.localValues("n3", "key-7"); !slices.Equal(got, []string{"value-7"}) {
		t.Fatalf("ringkv get key-7 --local on n3: %q", got)
	}
}

// With n2 and n3 killed, w=1 succeeds and says it was hinted, w=2 is
// indeterminate; when both return, the w=1 value is on all three.
func TestTwoNodesKilledWriteOneIsHinted(t *testing.T) {
	d := startDev(t, 3)
	d.ok("dev", "kill", "n2", "--dir", d.dir)
	d.ok("dev", "kill", "n3", "--dir", d.dir)
	// Once n1 suspects both, it keeps their hints in the same step as its
	// own write, so the answer lists them.
	for _, id := range []string{"n2", "n3"} {
		testwait.Until(t, 15*time.Second, "n1 suspects "+id, func() bool {
			m, ok := d.member("n1", id)
			return ok && m.State != "alive"
		})
	}
	out := d.ok("put", "k", "survivor", "--w", "1", "--json")
	var res struct {
		Acks  []string
		Hints []struct{ Node, For string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("put --json: %q: %v", out, err)
	}
	if !slices.Equal(res.Acks, []string{"n1"}) || len(res.Hints) != 2 {
		t.Fatalf("put --w 1 with two killed: %s", out)
	}
	msg := d.fails("", "put", "k2", "v", "--w", "2")
	if !strings.Contains(msg, "1 of 3 replicas acknowledged") || !strings.Contains(msg, "indeterminate") {
		t.Fatalf("put --w 2 with two killed: %q", msg)
	}
	d.ok("dev", "start", "n2", "--dir", d.dir)
	d.ok("dev", "start", "n3", "--dir", d.dir)
	for _, id := range []string{"n1", "n2", "n3"} {
		testwait.Until(t, 30*time.Second, "k on "+id, func() bool {
			_, _, code := d.run("", "status", "--addr", d.addr(id))
			return code == 0 && slices.Equal(d.localValues(id, "k"), []string{"survivor"})
		})
	}
}

// With hinted handoff off, a key written while n3 is paused is stale on n3
// after it resumes, until one get --r 3 repairs it.
func TestPausedNodeIsRepairedByARead(t *testing.T) {
	d := startDevWith(t, 3, "--hinted-handoff=false")
	d.ok("put", "k", "old", "--w", "3")
	d.ok("dev", "pause", "n3", "--dir", d.dir)
	testwait.Until(t, 15*time.Second, "n1 suspects paused n3", func() bool {
		m, ok := d.member("n1", "n3")
		return ok && m.State != "alive"
	})
	ctx := d.get("k").Context
	d.ok("put", "k", "new", "--w", "2", "--context", ctx)
	d.ok("dev", "resume", "n3", "--dir", d.dir)
	testwait.Until(t, 15*time.Second, "n1 sees n3 alive again", func() bool {
		m, ok := d.member("n1", "n3")
		return ok && m.State == "alive"
	})
	if got := d.localValues("n3", "k"); !slices.Equal(got, []string{"old"}) {
		t.Fatalf("n3 after resume holds %q; want stale", got)
	}
	if g := d.get("k", "--r", "3"); !slices.Equal(g.Values, []string{"new"}) {
		t.Fatalf("get --r 3: %+v", g)
	}
	testwait.Until(t, 10*time.Second, "read repair reaches n3", func() bool {
		return slices.Equal(d.localValues("n3", "k"), []string{"new"})
	})
}
