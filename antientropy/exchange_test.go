package antientropy_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/ringkv/ringkv/antientropy"
)

// The scenario the design promises: 100,000 keys over a 256-partition ring,
// two replicas in sync but for 10 keys, one full exchange (every partition).
const (
	clusterKeys       = 100_000
	clusterBits       = 8 // Q = 256
	versionSetBytes   = 150
	copiedSetBytes    = 130
	differingKeys     = 10
	changedOnRemote   = 4 // both hold them, at other digests
	deletedOnRemote   = 3 // remote lacks them
	addedOnRemote     = 3 // only remote holds them
	exchangeBenchSeed = 42
)

// cluster is one replica's copy of every partition.
type cluster []*replica

func newCluster(cfg antientropy.Config) cluster {
	c := make(cluster, 1<<cfg.PartitionBits)
	for p := range c {
		c[p] = newReplica(cfg, p)
	}
	return c
}

func (c cluster) set(key string, digest uint64) {
	c[xxhash.Sum64String(key)>>(64-clusterBits)].set(key, digest)
}

// inSyncButTen builds the two replicas and returns the keys that differ,
// sorted, and the keys' total length.
func inSyncButTen() (local, remote cluster, differ []string, keyBytes int) {
	cfg := antientropy.Config{PartitionBits: clusterBits}
	local, remote = newCluster(cfg), newCluster(cfg)
	rng := rand.New(rand.NewPCG(exchangeBenchSeed, 0))
	for i := range clusterKeys {
		k := fmt.Sprintf("user:%08d", i)
		d := rng.Uint64() | 1
		local.set(k, d)
		remote.set(k, d)
		keyBytes += len(k)
	}
	for i := range changedOnRemote + deletedOnRemote {
		k := fmt.Sprintf("user:%08d", rng.IntN(clusterKeys/differingKeys)+i*clusterKeys/differingKeys)
		if i < changedOnRemote {
			remote.set(k, rng.Uint64()|1)
		} else {
			remote.set(k, 0)
		}
		differ = append(differ, k)
	}
	for i := range addedOnRemote {
		k := fmt.Sprintf("user:new%04d", i)
		remote.set(k, rng.Uint64()|1)
		differ = append(differ, k)
	}
	slices.Sort(differ)
	return local, remote, differ, keyBytes
}

// exchangeAll runs Compare on every partition and returns every diff found
// and the summed stats.
func exchangeAll(tb testing.TB, local, remote cluster) ([]antientropy.Diff, antientropy.Stats) {
	var all []antientropy.Diff
	var sum antientropy.Stats
	cfg := antientropy.Config{PartitionBits: clusterBits}
	for p := range local {
		diffs, st, err := antientropy.Compare(context.Background(), local[p], remote[p], cfg, p)
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, diffs...)
		sum.Rounds += st.Rounds
		sum.Hashes += st.Hashes
		sum.Keys += st.Keys
		sum.Bytes += st.Bytes
	}
	slices.SortFunc(all, func(a, b antientropy.Diff) int { return bytes.Compare(a.Key, b.Key) })
	return all, sum
}

// syncBytes estimates shipping each differing key's version set both ways.
func syncBytes(diffs []antientropy.Diff) int64 {
	var n int64
	for _, d := range diffs {
		n += 2 * int64(len(d.Key)+versionSetBytes)
	}
	return n
}

// TestExchangeCostGrowsWithDifferencesNotData finds exactly the 10 differing
// keys among 100,000 and prints what the exchange moves against copying
// every partition.
func TestExchangeCostGrowsWithDifferencesNotData(t *testing.T) {
	local, remote, differ, keyBytes := inSyncButTen()
	diffs, st := exchangeAll(t, local, remote)
	var found []string
	for _, d := range diffs {
		found = append(found, string(d.Key))
	}
	if !slices.Equal(found, differ) {
		t.Fatalf("exchange found %v, want %v", found, differ)
	}
	sync := syncBytes(diffs)
	copyAll := int64(keyBytes + clusterKeys*copiedSetBytes)
	t.Logf("Q=256, %d keys, %d differ: %d rounds, %d hashes, %d keys fetched",
		clusterKeys, len(diffs), st.Rounds, st.Hashes, st.Keys)
	t.Logf("exchange %d B + sync %d B = %d B; copying every partition %d B; ratio %.0fx",
		st.Bytes, sync, st.Bytes+sync, copyAll, float64(copyAll)/float64(st.Bytes+sync))
	if total := st.Bytes + sync; total*100 > copyAll {
		t.Fatalf("exchange moved %d bytes, over 1%% of copying everything (%d)", total, copyAll)
	}
}

// BenchmarkExchange is one full exchange of the scenario above, with the
// bytes it moves as metrics.
func BenchmarkExchange(b *testing.B) {
	local, remote, _, keyBytes := inSyncButTen()
	var diffs []antientropy.Diff
	var st antientropy.Stats
	b.ReportAllocs()
	for b.Loop() {
		diffs, st = exchangeAll(b, local, remote)
	}
	total := st.Bytes + syncBytes(diffs)
	b.ReportMetric(float64(st.Bytes), "compare-B/op")
	b.ReportMetric(float64(total), "wire-B/op")
	b.ReportMetric(float64(keyBytes+clusterKeys*copiedSetBytes)/float64(total), "x-less-than-copy")
}

func BenchmarkUpdate(b *testing.B) {
	tree := antientropy.NewTree(antientropy.Config{PartitionBits: clusterBits})
	keys := make([][]byte, 1024)
	hashes := make([]uint64, len(keys))
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "user:%08d", i)
		hashes[i] = xxhash.Sum64(keys[i])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		j := i % len(keys)
		d := uint64(i/len(keys)) + 1
		tree.Update(hashes[j], keys[j], d-1, d) // a write: old digest out, new in
	}
}

func BenchmarkItemHash(b *testing.B) {
	key := []byte("user:00012345")
	b.ReportAllocs()
	var x uint64
	for i := uint64(0); b.Loop(); i++ {
		x ^= antientropy.ItemHash(key, i)
	}
	_ = x
}

func TestUpdateDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	tree := antientropy.NewTree(antientropy.Config{PartitionBits: clusterBits})
	key := []byte("user:00012345")
	h := xxhash.Sum64(key)
	if n := testing.AllocsPerRun(100, func() { tree.Update(h, key, 1, 2); tree.Update(h, key, 2, 1) }); n != 0 {
		t.Fatalf("Update allocates %v times", n)
	}
}
