package ring_test

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"
	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/ring"
)

// genConfig draws small but varied configurations, including degenerate
// ones (one partition, one token, N=1).
func genConfig() *rapid.Generator[ring.Config] {
	return rapid.Custom(func(t *rapid.T) ring.Config {
		return ring.Config{
			Partitions: 1 << rapid.IntRange(0, 10).Draw(t, "log2Q"),
			VNodes:     rapid.IntRange(1, 64).Draw(t, "V"),
			N:          rapid.IntRange(1, 5).Draw(t, "N"),
		}
	})
}

// genMembers draws between lo and hi distinct non-empty ids.
func genMembers(lo, hi int) *rapid.Generator[[]string] {
	return rapid.SliceOfNDistinct(rapid.StringN(1, 8, -1), lo, hi, rapid.ID[string])
}

// tb is what both *testing.T and *rapid.T offer.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

func mustNew(t tb, cfg ring.Config, members []string) *ring.Ring {
	t.Helper()
	r, err := ring.New(cfg, members)
	if err != nil {
		t.Fatalf("New(%+v, %q): %v", cfg, members, err)
	}
	return r
}

// oracleWalk is placement written as plainly as possible, from the
// documented scheme only: list every token, sort, find the first token at or
// after the partition's first hash by linear scan, and walk on collecting
// owners not yet seen.
func oracleWalk(cfg ring.Config, members []string, p int) []string {
	type tok struct {
		hash uint64
		id   string
	}
	var toks []tok
	for _, id := range members {
		for i := range cfg.VNodes {
			b := binary.BigEndian.AppendUint64([]byte(id), uint64(i))
			toks = append(toks, tok{xxhash.Sum64(b), id})
		}
	}
	slices.SortFunc(toks, func(a, b tok) int {
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		if a.id < b.id {
			return -1
		}
		return 1
	})
	bitsQ := 0
	for 1<<bitsQ < cfg.Partitions {
		bitsQ++
	}
	start := uint64(0)
	if bitsQ > 0 {
		start = uint64(p) << (64 - bitsQ)
	}
	first := 0 // wrap if no token is at or after start
	for i, tk := range toks {
		if tk.hash >= start {
			first = i
			break
		}
	}
	var walk []string
	for i := range toks {
		id := toks[(first+i)%len(toks)].id
		if !slices.Contains(walk, id) {
			walk = append(walk, id)
		}
	}
	return walk
}

func TestPreferenceMatchesOracle(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig().Draw(t, "cfg")
		members := genMembers(1, 12).Draw(t, "members")
		r := mustNew(t, cfg, members)
		for _, p := range []int{0, cfg.Partitions - 1, rapid.IntRange(0, cfg.Partitions-1).Draw(t, "p")} {
			want := oracleWalk(cfg, members, p)
			if got := r.Walk(p); !slices.Equal(got, want) {
				t.Fatalf("Walk(%d) = %q, oracle %q", p, got, want)
			}
			n := min(cfg.N, len(members))
			if got := r.Preference(p); !slices.Equal(got, want[:n]) {
				t.Fatalf("Preference(%d) = %q, oracle %q", p, got, want[:n])
			}
		}
	})
}

func TestSameMembersSameRing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig().Draw(t, "cfg")
		members := genMembers(1, 20).Draw(t, "members")
		shuffled := rapid.Permutation(members).Draw(t, "shuffled")
		dups := rapid.SliceOfN(rapid.SampledFrom(members), 0, 5).Draw(t, "dups")
		a := mustNew(t, cfg, members)
		b := mustNew(t, cfg, append(shuffled, dups...))
		if !slices.Equal(a.Members(), b.Members()) {
			t.Fatalf("members %q vs %q", a.Members(), b.Members())
		}
		for p := range cfg.Partitions {
			if !slices.Equal(a.Walk(p), b.Walk(p)) {
				t.Fatalf("partition %d: walk %q vs %q", p, a.Walk(p), b.Walk(p))
			}
		}
	})
}

func TestPreferenceShape(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig().Draw(t, "cfg")
		members := genMembers(1, 20).Draw(t, "members")
		r := mustNew(t, cfg, members)
		sorted := slices.Sorted(slices.Values(members))
		n := min(cfg.N, len(members))
		held := map[string][]int{}
		for p := range r.Partitions() {
			walk, pref := r.Walk(p), r.Preference(p)
			if !slices.Equal(slices.Sorted(slices.Values(walk)), sorted) {
				t.Fatalf("Walk(%d) = %q is not a permutation of the members", p, walk)
			}
			if len(pref) != n || !slices.Equal(pref, walk[:n]) {
				t.Fatalf("Preference(%d) = %q, want the first %d of %q", p, pref, n, walk)
			}
			for _, id := range pref {
				held[id] = append(held[id], p)
			}
		}
		most := 0
		for _, id := range sorted {
			if got := r.PartitionsOf(id); !slices.Equal(got, held[id]) {
				t.Fatalf("PartitionsOf(%q) = %v, want %v", id, got, held[id])
			}
			most = max(most, len(held[id]))
		}
		mean := float64(r.Partitions()*n) / float64(len(members))
		if got, want := r.Balance(), float64(most)/mean; got != want {
			t.Fatalf("Balance() = %v, want %v", got, want)
		}
	})
}

// TestAddMemberMovesOnlyToIt: adding a member inserts it into every walk and
// changes nothing else, so each partition-replica that moves lands on it.
func TestAddMemberMovesOnlyToIt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig().Draw(t, "cfg")
		all := genMembers(2, 21).Draw(t, "members")
		added, before := all[0], all[1:]
		old, cur := mustNew(t, cfg, before), mustNew(t, cfg, all)
		for p := range cfg.Partitions {
			w := slices.DeleteFunc(slices.Clone(cur.Walk(p)), func(s string) bool { return s == added })
			if !slices.Equal(w, old.Walk(p)) {
				t.Fatalf("partition %d: walk %q without %q is not the old walk %q", p, cur.Walk(p), added, old.Walk(p))
			}
		}
		changes, err := ring.Diff(old, cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			if !slices.Equal(c.Gained, []string{added}) || len(c.Lost) > 1 ||
				(len(c.Lost) == 0) != (len(before) < cfg.N) {
				t.Fatalf("partition %d: gained %q lost %q after adding %q", c.Partition, c.Gained, c.Lost, added)
			}
		}
		if got, want := len(changes), len(cur.PartitionsOf(added)); got != want {
			t.Fatalf("%d partitions changed, but %q holds %d", got, added, want)
		}
	})
}

// TestRemoveMemberMovesOnlyItsReplicas: removing a member takes it out of
// every walk; the partitions it held each gain the next member, and no other
// partition changes.
func TestRemoveMemberMovesOnlyItsReplicas(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig().Draw(t, "cfg")
		before := genMembers(2, 21).Draw(t, "members")
		removed := rapid.SampledFrom(before).Draw(t, "removed")
		after := slices.DeleteFunc(slices.Clone(before), func(s string) bool { return s == removed })
		old, cur := mustNew(t, cfg, before), mustNew(t, cfg, after)
		changes, err := ring.Diff(old, cur)
		if err != nil {
			t.Fatal(err)
		}
		var changed []int
		for _, c := range changes {
			if !slices.Equal(c.Lost, []string{removed}) || len(c.Gained) > 1 ||
				(len(c.Gained) == 0) != (len(after) < cfg.N) {
				t.Fatalf("partition %d: gained %q lost %q after removing %q", c.Partition, c.Gained, c.Lost, removed)
			}
			changed = append(changed, c.Partition)
		}
		if held := old.PartitionsOf(removed); !slices.Equal(changed, held) {
			t.Fatalf("changed partitions %v, but %q held %v", changed, removed, held)
		}
	})
}

// fairShare is the partition-replicas each of m members holds on average.
func fairShare(q, n, m int) float64 { return float64(q*min(n, m)) / float64(m) }

// TestAddMemberTakesAboutItsFairShare: a new member receives between half
// and twice its fair share, Q·N/(members+1) partition-replicas, at the
// default V and N with 3..50 existing members.
//
// The check runs at Q=1024 rather than the default 256 on purpose. A node's
// count is a sum over Q sample points, so at Q=256 and 50 members (a fair
// share of 15) sampling noise alone is ±25% per standard deviation: over
// 20,000 random clusters at the default V, 0.1% fell below 0.5x (the lowest
// 0.32x, the highest 1.85x). At Q=1024 the same run stayed in 0.72x..1.32x,
// so the bound tests token placement, not the luck of 256 samples.
// TestAddMemberFairOnAverage covers the default Q.
func TestAddMemberTakesAboutItsFairShare(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := ring.Config{Partitions: 1024}
		all := genMembers(4, 51).Draw(t, "members")
		added := all[0]
		r := mustNew(t, cfg, all)
		got := float64(len(r.PartitionsOf(added)))
		fair := fairShare(cfg.Partitions, ring.DefaultN, len(all))
		if got < fair/2 || got > 2*fair {
			t.Fatalf("new member %q of %d holds %v partition-replicas; fair share %.1f", added, len(all), got, fair)
		}
	})
}

// TestAddMemberFairOnAverage: at the default config, growing clusters of
// "n1".."nM" to M+1 for every M in 3..50 moves, in total, within 10% of the
// sum of the new members' fair shares (it is within 1% today). Each single
// step may be off by more; see TestAddMemberTakesAboutItsFairShare.
func TestAddMemberFairOnAverage(t *testing.T) {
	var moved, fair float64
	for m := 3; m <= 50; m++ {
		all := ids("n", m+1)
		changes, err := ring.Diff(mustNew(t, ring.Config{}, all[:m]), mustNew(t, ring.Config{}, all))
		if err != nil {
			t.Fatal(err)
		}
		moved += float64(len(changes))
		fair += fairShare(ring.DefaultPartitions, ring.DefaultN, m+1)
	}
	t.Logf("moved %v partition-replicas over 48 additions; fair shares sum to %.1f (ratio %.3f)", moved, fair, moved/fair)
	if moved < 0.9*fair || moved > 1.1*fair {
		t.Fatalf("moved %v partition-replicas, want within 10%% of %.1f", moved, fair)
	}
}
