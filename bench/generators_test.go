package bench

import (
	"math"
	"slices"
	"sort"
	"testing"
)

// YCSB's load phase famously starts with this key: record 0, FNV-hashed.
func TestKeyNamesAreYCSBs(t *testing.T) {
	if got := string(keyName(0, false)); got != "user6284781860667377211" {
		t.Fatalf("key of record 0 = %s, want YCSB's user6284781860667377211", got)
	}
	if got := string(keyName(42, true)); got != "user42" {
		t.Fatalf("ordered key of record 42 = %s, want user42", got)
	}
}

// draw counts how often each record is picked in n draws.
func draw(g *generator, records int64, n int) []int {
	counts := make([]int, records)
	for range n {
		counts[g.keys.next(g.rng)]++
	}
	return counts
}

// topShare is the fraction of draws taken by the k most drawn records.
func topShare(counts []int, k, n int) float64 {
	sorted := slices.Clone(counts)
	sort.Sort(sort.Reverse(sort.IntSlice(sorted)))
	sum := 0
	for _, c := range sorted[:k] {
		sum += c
	}
	return float64(sum) / float64(n)
}

// scrambledOracle is the distribution YCSB's scrambled zipfian should give
// over records: the mass of the first ranks of the zipfian over 10^10 items,
// hashed onto the records, and the rest spread evenly.
func scrambledOracle(records int64) []float64 {
	const ranks = 500_000
	mass := make([]float64, records)
	used := 0.0
	for k := int64(0); k < ranks; k++ {
		p := 1 / math.Pow(float64(k+1), zipfianConstant) / scrambledZetan
		mass[fnvHash64(k)%records] += p
		used += p
	}
	for i := range mass {
		mass[i] += (1 - used) / float64(records)
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(mass)))
	return mass
}

func within(t *testing.T, what string, got, want, relTol float64) {
	t.Helper()
	if math.Abs(got-want) > relTol*want {
		t.Errorf("%s = %.4f, want %.4f ± %.0f%%", what, got, want, relTol*100)
	}
}

func TestScrambledZipfianIsSkewedAsYCSBs(t *testing.T) {
	for _, records := range []int64{1000, 10000} {
		ks := newKeySpace(Workload{ReadProp: 1, Distribution: Zipfian}, records, 0)
		g := ks.generator(1, 2)
		const n = 200_000
		counts := draw(g, records, n)
		oracle := scrambledOracle(records)
		top := topShare(counts, 1, n)
		// The hottest record takes about 1/zetan = 3.8% of requests, against
		// 1/records under uniform.
		within(t, "hottest record's share", top, oracle[0], 0.10)
		if uniform := 1 / float64(records); top < 20*uniform {
			t.Errorf("hottest record drawn %.4f of the time, not far above uniform's %.5f", top, uniform)
		}
		onePct := int(records / 100)
		want := 0.0
		for _, m := range oracle[:onePct] {
			want += m
		}
		within(t, "top 1% of records' share", topShare(counts, onePct, n), want, 0.10)
	}
}

func TestZipfianFollowsGraysFormula(t *testing.T) {
	const items, n = 100, 200_000
	z := newZipfian(0, items, zipfianConstant, 0)
	g := (&keySpace{}).generator(3, 4)
	counts := make([]int, items)
	for range n {
		counts[z.next(g.rng, items)]++
	}
	// Gray's method is exact for the first two items and approximates the
	// rest.
	zetan := zeta(0, items, zipfianConstant, 0)
	for k := range 2 {
		want := 1 / math.Pow(float64(k+1), zipfianConstant) / zetan
		within(t, "share of item "+string(rune('0'+k)), float64(counts[k])/n, want, 0.05)
	}
	if counts[10] <= counts[90] {
		t.Errorf("item 10 drawn %d times, item 90 %d: popularity should fall with rank", counts[10], counts[90])
	}
}

func TestLatestFavoursRecentInserts(t *testing.T) {
	const records, inserts, n = 1000, 200, 100_000
	ks := newKeySpace(Workload{ReadProp: 0.95, InsertProp: 0.05, Distribution: Latest}, records, 0)
	g := ks.generator(5, 6)
	for range inserts {
		ks.insert.ack(ks.insert.take())
	}
	last := ks.insert.last()
	if last != records+inserts-1 {
		t.Fatalf("last acknowledged = %d, want %d", last, records+inserts-1)
	}
	counts := draw(g, records+inserts, n)
	if hottest := slices.Index(counts, slices.Max(counts)); int64(hottest) != last {
		t.Errorf("most drawn record %d, want the latest insert %d", hottest, last)
	}
	newest, oldest := 0, 0
	for i := range 100 {
		newest += counts[last-int64(i)]
		oldest += counts[i]
	}
	// 100 of 1200 records; a zipfian over recency gives the newest 100 about
	// zeta(100)/zeta(1200) of the draws.
	want := zeta(0, 100, zipfianConstant, 0) / zeta(0, last, zipfianConstant, 0)
	within(t, "newest 100 records' share", float64(newest)/n, want, 0.05)
	if oldest*20 > newest {
		t.Errorf("oldest 100 drawn %d times, newest 100 %d: latest should favour the new ones", oldest, newest)
	}
}

func TestUniformIsEven(t *testing.T) {
	const records, n = 100, 200_000
	ks := newKeySpace(Workload{ReadProp: 1, Distribution: Uniform}, records, 0)
	counts := draw(ks.generator(7, 8), records, n)
	for k, c := range counts {
		within(t, "share of record "+string(rune('0'+k%10)), float64(c)/n, 1.0/records, 0.10)
	}
}

func TestOperationMixMatchesEachWorkload(t *testing.T) {
	for name, w := range presets {
		t.Run(name, func(t *testing.T) {
			ks := newKeySpace(w, 1000, 0)
			g := ks.generator(9, 10)
			const n = 100_000
			var counts [numOpTypes]int
			for range n {
				o := g.next()
				counts[o.typ]++
				g.done(o)
			}
			total := totalProp(w)
			for op, p := range w.props() {
				if got, want := float64(counts[op])/n, p/total; math.Abs(got-want) > 0.01 {
					t.Errorf("%s share = %.4f, want %.4f ± 0.01", OpType(op), got, want)
				}
			}
		})
	}
}

// Reads never pick a record whose insert is still in flight: the limit
// moves only over a contiguous run of acknowledged inserts.
func TestInsertSequenceAdvancesOverContiguousAcks(t *testing.T) {
	s := newInsertSequence(10)
	a, b, c := s.take(), s.take(), s.take()
	if a != 10 || b != 11 || c != 12 {
		t.Fatalf("took %d %d %d, want 10 11 12", a, b, c)
	}
	s.ack(c)
	s.ack(b)
	if s.last() != 9 {
		t.Fatalf("last = %d with insert 10 unacknowledged, want 9", s.last())
	}
	s.ack(a)
	if s.last() != 12 {
		t.Fatalf("last = %d after every ack, want 12", s.last())
	}
}

func TestZipfianNeverPicksUninsertedRecords(t *testing.T) {
	ks := newKeySpace(Workload{ReadProp: 1, Distribution: Zipfian}, 100, 1000)
	g := ks.generator(11, 12)
	for range 10_000 {
		if k := g.keys.next(g.rng); k < 0 || k > ks.insert.last() {
			t.Fatalf("picked record %d, only 0..%d exist", k, ks.insert.last())
		}
	}
}
