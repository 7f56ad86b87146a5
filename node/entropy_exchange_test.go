package node_test

// An exchange is clean only when it ran to the end: the regression tests of
// issue 10, defect 3 (an exchange cut short counted as clean, tombstone
// against absent differences eating the repair budget, and leaf keys that
// had to fit in one message).

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
)

// starvedEntropy runs every exchange on one partition with a repair budget
// of the limiter's burst only (64 keys): a rate of one key per 1,000 s
// means any repair past the burst would wait beyond the exchange's
// deadline, so the exchange is cut short.
func starvedEntropy(cfg *node.Config) {
	cfg.Partitions = 1
	cfg.AntiEntropyInterval = 300 * time.Millisecond
	cfg.AntiEntropyRepairRate = 0.001
	cfg.HintWindow = 100 * time.Millisecond
	cfg.TombstoneGrace = time.Second
	cfg.DisableHintedHandoff = true // n3 learns what it missed through exchanges only
	patient(cfg)
}

// patient keeps the writes that set a test up from failing on a loaded
// machine: a replica gets 5 s to answer and is suspected later than by
// default (a stopped node is still noticed within a second or two).
func patient(cfg *node.Config) {
	cfg.ReplicaTimeout = 5 * time.Second
	cfg.PhiThreshold = 16
}

// holdsClock reports whether node id holds any version of key, live or
// tombstone (a reaped key has no clock left).
func holdsClock(t *testing.T, c *clustertest.Cluster, id, key string) bool {
	t.Helper()
	res, err := c.Client(id).GetLocal(ctxT(t), []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return res.Found || len(res.Context) > 2
}

// writeWhileDown writes keys on n1 and n2 only, with n3 stopped; with
// deleteToo it deletes each again, leaving n1 and n2 a tombstone and n3
// nothing.
func writeWhileDown(t *testing.T, c *clustertest.Cluster, keys []string, deleteToo bool) {
	t.Helper()
	for _, k := range keys {
		res := mustPut(t, c.Client("n1"), k, "v-"+k, nil, 2)
		if !deleteToo {
			continue
		}
		if _, err := c.Client("n1").Delete(ctxT(t), []byte(k), res.Context, 2); err != nil {
			t.Fatal(err)
		}
	}
}

func keyRange(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

// The resurrection of issue 10: n3 holds a live value of k while n1 and n2
// delete it, and many tombstone-against-absent differences come before k.
// An exchange that ran out of repair budget before reaching k must not
// verify n3, so no replica may reap k's tombstone while n3 still holds the
// pre-delete value; once k's tombstone reached n3, it is reaped everywhere.
func TestCutShortExchangeDoesNotLetATombstoneBeReapedUnderALiveValue(t *testing.T) {
	c := clustertest.New(t, 3, starvedEntropy)
	mustPut(t, c.Client("n1"), "k", "pre-delete", nil, 3)
	c.Stop("n3")
	c.WaitUnhealthy("n1", "n3")
	c.WaitUnhealthy("n2", "n3")
	writeWhileDown(t, c, keyRange("a", 100), true) // more than the budget
	cur := mustGet(t, c.Client("n1"), "k", 2)
	if _, err := c.Client("n1").Delete(ctxT(t), []byte("k"), cur.Context, 2); err != nil {
		t.Fatal(err)
	}
	c.Restart("n3")
	c.Eventually(30*time.Second, "k's tombstone reaped on every replica", func() bool {
		// n1 and n2 first: a reap seen before n3's live value is one that
		// happened while n3 held it (n3 never turns live again).
		reaped := !holdsClock(t, c, "n1", "k") || !holdsClock(t, c, "n2", "k")
		if reaped && slices.Equal(localValues(t, c, "n3", "k"), []string{"pre-delete"}) {
			t.Fatal("k's tombstone was reaped while n3 still holds the live pre-delete value")
		}
		for _, id := range []string{"n1", "n2", "n3"} {
			if holdsClock(t, c, id, "k") {
				return false
			}
		}
		return true
	})
}

// A node whose every exchange runs out of repair budget never counts a
// partition as exchanged: its entropy age grows past the interval, and the
// exchanges show as incomplete.
func TestCutShortExchangeIsIncomplete(t *testing.T) {
	c := clustertest.New(t, 3, starvedEntropy)
	c.Stop("n3")
	c.WaitUnhealthy("n1", "n3")
	c.WaitUnhealthy("n2", "n3")
	writeWhileDown(t, c, keyRange("k", 200), false) // n3 can repair 64 of them
	c.Restart("n3")
	// Five exchanges take at least five ticks of 3/4 interval each; had
	// any of them counted, the age would be under one tick.
	c.Eventually(30*time.Second, "n3 made five exchanges", func() bool {
		return statusOf(t, c, "n3").GetAntiEntropy().GetExchanges() >= 5
	})
	ae := statusOf(t, c, "n3").GetAntiEntropy()
	if ae.GetEntropyAgeMs() < 2*ae.GetIntervalMs() {
		t.Fatalf("n3's entropy age is %dms after %d exchanges cut short; a cut-short exchange counted as clean",
			ae.GetEntropyAgeMs(), ae.GetExchanges())
	}
	if ae.GetExchangesIncomplete() == 0 {
		t.Fatalf("n3 shows none of its %d exchanges incomplete", ae.GetExchanges())
	}
	if got := scrape(t, c.Addr("n3"), "ringkv_ae_exchanges_incomplete_total"); got < 1 {
		t.Fatalf("ringkv_ae_exchanges_incomplete_total on n3 is %v", got)
	}
}

// Tombstones one replica lacks are no repair: 200 of them on n1 and n2,
// absent on n3, leave the whole budget (64 keys) for the 50 live keys n3
// missed; and the differences end once the tombstones are reaped.
func TestTombstoneAgainstAbsentUsesNoRepairBudget(t *testing.T) {
	c := clustertest.New(t, 3, starvedEntropy)
	c.Stop("n3")
	c.WaitUnhealthy("n1", "n3")
	c.WaitUnhealthy("n2", "n3")
	tombs, live := keyRange("a", 200), keyRange("z", 50)
	writeWhileDown(t, c, tombs, true)
	writeWhileDown(t, c, live, false)
	c.Restart("n3")
	c.Eventually(30*time.Second, "n3 holds the 50 live keys it missed", func() bool {
		for _, k := range live {
			if !slices.Equal(localValues(t, c, "n3", k), []string{"v-" + k}) {
				return false
			}
		}
		return true
	})
	c.Eventually(30*time.Second, "the tombstones reaped on n1 and n2", func() bool {
		for _, k := range tombs {
			if holdsClock(t, c, "n1", k) || holdsClock(t, c, "n2", k) {
				return false
			}
		}
		return true
	})
}

// A wiped replica refills by its own exchanges even when one partition's
// key list is many times one message: leaf keys come in bounded pages.
// The peers' anti-entropy is off, so only n3's own exchanges (which list
// the peers' keys) can refill it; the value and sibling limits cut a
// peer's answer to 64 KiB, against about 330 KB of keys.
func TestWipedReplicaRefillsInPages(t *testing.T) {
	c := clustertest.New(t, 3, fastEntropy, patient, func(cfg *node.Config) {
		cfg.Partitions = 1
		cfg.MaxValueBytes, cfg.MaxSiblings = 32<<10, 1
		cfg.DisableAntiEntropy = cfg.ID != "n3"
	})
	keys := keyRange(strings.Repeat("k", 96), 3000)
	for _, k := range keys {
		mustPut(t, c.Client("n1"), k, "v", nil, 2) // n3's copy is wiped anyway
	}
	c.Stop("n3")
	c.Wipe("n3")
	c.Restart("n3")
	c.Eventually(60*time.Second, "n3 holds every key again", func() bool {
		for i := len(keys) - 1; i >= 0; i-- {
			if !slices.Equal(localValues(t, c, "n3", keys[i]), []string{"v"}) {
				return false
			}
		}
		return true
	})
}
