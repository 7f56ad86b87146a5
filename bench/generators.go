package bench

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// The constants of YCSB's ScrambledZipfianGenerator: it draws from a
// zipfian over ten billion items, whose zeta it knows in advance, and hashes
// the result onto the records. The large item space makes it flatter than a
// plain zipfian over the records (the hottest record gets about 1/zetan =
// 3.8% of requests, whatever the record count), which is what YCSB's
// published numbers were measured with.
const (
	zipfianConstant  = 0.99
	scrambledItems   = 10_000_000_000
	scrambledZetan   = 26.46902820178302
	fnvOffsetBasis64 = 0xCBF29CE484222325
	fnvPrime64       = 1099511628211
)

// fnvHash64 is YCSB's Utils.fnvhash64: FNV-1a over the eight low-to-high
// bytes of v, made non-negative.
func fnvHash64(v int64) int64 {
	h := uint64(fnvOffsetBasis64)
	for range 8 {
		h ^= uint64(v & 0xff)
		h *= fnvPrime64
		v >>= 8
	}
	r := int64(h)
	if r < 0 {
		r = -r
	}
	if r < 0 { // math.MinInt64 has no positive twin
		r = 0
	}
	return r
}

// zeta is the sum over i in (from, to] of 1/i^theta, added to initial.
func zeta(from, to int64, theta, initial float64) float64 {
	sum := initial
	for i := from; i < to; i++ {
		sum += 1 / math.Pow(float64(i+1), theta)
	}
	return sum
}

// zipfian draws item base+k with probability proportional to 1/(k+1)^theta,
// by the method of Gray et al., "Quickly Generating Billion-Record Synthetic
// Databases" (SIGMOD 1994), as YCSB's ZipfianGenerator does. Growing the
// item count extends zeta incrementally. Not safe for concurrent use: each
// worker has its own copy.
type zipfian struct {
	base       int64
	theta      float64
	alpha      float64
	zeta2theta float64
	zetan      float64
	eta        float64
	count      int64 // the item count zetan and eta are for
}

// newZipfian covers items base..base+n-1; zetan 0 means compute it.
func newZipfian(base, n int64, theta, zetan float64) *zipfian {
	if zetan == 0 {
		zetan = zeta(0, n, theta, 0)
	}
	z := &zipfian{base: base, theta: theta, alpha: 1 / (1 - theta), zeta2theta: zeta(0, 2, theta, 0), zetan: zetan, count: n}
	z.eta = z.etaFor(n)
	return z
}

func (z *zipfian) etaFor(n int64) float64 {
	return (1 - math.Pow(2/float64(n), 1-z.theta)) / (1 - z.zeta2theta/z.zetan)
}

// next draws from the first n items. A larger n than before extends zeta;
// a smaller one (a stale count from a racing worker) keeps the larger zeta,
// as YCSB does.
func (z *zipfian) next(r *rand.Rand, n int64) int64 {
	if n > z.count {
		z.zetan = zeta(z.count, n, z.theta, z.zetan)
		z.count = n
		z.eta = z.etaFor(n)
	}
	u := r.Float64()
	uz := u * z.zetan
	if uz < 1 {
		return z.base
	}
	if uz < 1+math.Pow(0.5, z.theta) {
		return z.base + 1
	}
	k := int64(float64(n) * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return z.base + min(k, n-1)
}

func (z *zipfian) clone() *zipfian { c := *z; return &c }

// keyChooser picks the record number of the next read, update or
// read-modify-write. Each worker has its own.
type keyChooser interface {
	next(r *rand.Rand) int64
}

// uniformKeys picks one of the loaded records uniformly (YCSB's
// UniformLongGenerator over the initial records).
type uniformKeys struct{ n int64 }

func (u uniformKeys) next(r *rand.Rand) int64 { return r.Int64N(u.n) }

// scrambledZipfianKeys is YCSB's ScrambledZipfianGenerator over
// items records, redrawing numbers not inserted yet (CoreWorkload's
// nextKeynum).
type scrambledZipfianKeys struct {
	z      *zipfian
	items  int64
	insert *insertSequence
}

func (s *scrambledZipfianKeys) next(r *rand.Rand) int64 {
	for {
		k := fnvHash64(s.z.next(r, scrambledItems+1)) % s.items
		if k <= s.insert.last() {
			return k
		}
	}
}

// latestKeys is YCSB's SkewedLatestGenerator: the most recently
// acknowledged insert is the most popular record, the one before it the
// next, and so on down a zipfian.
type latestKeys struct {
	z      *zipfian
	insert *insertSequence
}

func (l *latestKeys) next(r *rand.Rand) int64 {
	last := l.insert.last()
	if last < 1 {
		return max(last, 0)
	}
	return last - l.z.next(r, last)
}

// insertSequence hands out the record numbers of inserts and tracks the
// highest number below which every insert has been acknowledged (YCSB's
// AcknowledgedCounterGenerator): reads never pick a record whose insert is
// still in flight.
type insertSequence struct {
	nextNum atomic.Int64
	limit   atomic.Int64

	mu    sync.Mutex
	acked map[int64]bool
}

// newInsertSequence starts after the loaded records 0..records-1.
func newInsertSequence(records int64) *insertSequence {
	s := &insertSequence{acked: map[int64]bool{}}
	s.nextNum.Store(records)
	s.limit.Store(records - 1)
	return s
}

// take returns the number of the next insert.
func (s *insertSequence) take() int64 { return s.nextNum.Add(1) - 1 }

// ack marks insert k done (failed ones too, as YCSB does: a read of it then
// finds nothing, which is counted, not fatal).
func (s *insertSequence) ack(k int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked[k] = true
	limit := s.limit.Load()
	for s.acked[limit+1] {
		delete(s.acked, limit+1)
		limit++
	}
	s.limit.Store(limit)
}

// last is the highest record number that every lower one has been
// acknowledged with.
func (s *insertSequence) last() int64 { return s.limit.Load() }
