package bench

import (
	"math"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: 1 µs to 60 s at 3 significant digits, in microseconds.
const (
	histMin    = 1
	histMax    = 60_000_000
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// maxErrorClasses bounds the distinct error messages kept per phase.
const maxErrorClasses = 20

// recorder collects one phase's outcomes. One mutex: a record costs well
// under a microsecond, far below any store's latency.
type recorder struct {
	mu    sync.Mutex
	start time.Time
	ops   [numOpTypes]opRecord
	all   *hdrhistogram.Histogram
	last  time.Time // latest completion

	// The second being filled, and the finished ones.
	sec          int64
	secOK, secEr int64
	secHist      *hdrhistogram.Histogram
	series       []Second

	errs     map[string]*ErrorClass
	errOrder []string

	missed int64 // set by the open loop once it has stopped
}

type opRecord struct {
	hist     *hdrhistogram.Histogram // nil until the type occurs
	errors   int64
	notFound int64
}

func newRecorder(start time.Time) *recorder {
	return &recorder{start: start, last: start, all: newHist(), secHist: newHist(), errs: map[string]*ErrorClass{}}
}

// record adds one finished operation that ended at now.
func (r *recorder) record(t OpType, lat time.Duration, notFound bool, err error, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advanceLocked(now)
	if now.After(r.last) {
		r.last = now
	}
	o := &r.ops[t]
	if o.hist == nil {
		o.hist = newHist()
	}
	if err != nil {
		o.errors++
		r.secEr++
		r.classifyLocked(t, err)
		return
	}
	if notFound {
		o.notFound++
	}
	us := clampMicros(lat)
	o.hist.RecordValue(us)
	r.all.RecordValue(us)
	r.secHist.RecordValue(us)
	r.secOK++
}

func clampMicros(d time.Duration) int64 {
	return min(max(d.Microseconds(), histMin), histMax)
}

// advance closes every second that ended before now.
func (r *recorder) advance(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advanceLocked(now)
}

func (r *recorder) advanceLocked(now time.Time) {
	for sec := int64(now.Sub(r.start) / time.Second); r.sec < sec; {
		r.closeSecondLocked(time.Second)
	}
}

func (r *recorder) closeSecondLocked(length time.Duration) {
	s := Second{T: r.sec, Length: length, Ops: r.secOK, Errors: r.secEr, OpsPerSec: float64(r.secOK) / length.Seconds()}
	if r.secOK > 0 {
		s.P99 = micros(r.secHist.ValueAtQuantile(99))
	}
	r.series = append(r.series, s)
	r.sec++
	r.secOK, r.secEr = 0, 0
	r.secHist.Reset()
}

// classifyLocked counts err under its message with the digits masked, so
// "leave 101 siblings" and "leave 102 siblings" are one class.
func (r *recorder) classifyLocked(t OpType, err error) {
	msg := err.Error()
	key := t.String() + ": " + maskDigits(msg)
	c, ok := r.errs[key]
	if !ok {
		if len(r.errs) >= maxErrorClasses {
			key, msg = "other", "(more kinds of errors than the report keeps)"
			if c, ok = r.errs[key]; !ok {
				c = &ErrorClass{Op: "any", Example: msg}
			}
		} else {
			c = &ErrorClass{Op: t.String(), Example: truncate(msg, 300)}
		}
		if !ok {
			r.errs[key] = c
			r.errOrder = append(r.errOrder, key)
		}
	}
	c.Count++
}

func maskDigits(s string) string {
	return truncate(strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return '#'
		}
		return r
	}, s), 160)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// live is the progress of the phase so far.
type live struct {
	elapsed  time.Duration
	lastRate float64 // ops/s in the last finished second
	errs     int64
	p99      time.Duration // of every successful operation so far
}

func (r *recorder) live(now time.Time) live {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advanceLocked(now)
	l := live{elapsed: now.Sub(r.start), p99: micros(r.all.ValueAtQuantile(99))}
	for _, o := range r.ops {
		l.errs += o.errors
	}
	if n := len(r.series); n > 0 {
		l.lastRate = r.series[n-1].OpsPerSec
	}
	return l
}

// phase closes the recorder at end and summarises it.
func (r *recorder) phase(name, model string, end time.Time) Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	if end.Before(r.last) {
		end = r.last
	}
	r.advanceLocked(end)
	if part := end.Sub(r.start) - time.Duration(r.sec)*time.Second; part > 0 {
		r.closeSecondLocked(part)
	}
	p := Phase{Name: name, Model: model, Elapsed: end.Sub(r.start), Series: r.series}
	total := newHist()
	for t, o := range r.ops {
		if o.hist == nil {
			continue
		}
		total.Merge(o.hist)
		st := opStats(OpType(t).String(), o.hist, p.Elapsed)
		st.Errors, st.NotFound = o.errors, o.notFound
		p.Total.Errors += o.errors
		p.Total.NotFound += o.notFound
		p.Ops = append(p.Ops, st)
	}
	errs, notFound := p.Total.Errors, p.Total.NotFound
	p.Total = opStats("TOTAL", total, p.Elapsed)
	p.Total.Errors, p.Total.NotFound = errs, notFound
	for _, k := range r.errOrder {
		p.Errors = append(p.Errors, *r.errs[k])
	}
	return p
}

func opStats(name string, h *hdrhistogram.Histogram, elapsed time.Duration) OpStats {
	s := OpStats{Op: name, Count: h.TotalCount()}
	if secs := elapsed.Seconds(); secs > 0 {
		s.OpsPerSec = float64(s.Count) / secs
	}
	if s.Count == 0 {
		return s
	}
	s.Mean = time.Duration(h.Mean() * float64(time.Microsecond))
	s.P50 = micros(h.ValueAtQuantile(50))
	s.P95 = micros(h.ValueAtQuantile(95))
	s.P99 = micros(h.ValueAtQuantile(99))
	s.P999 = micros(h.ValueAtQuantile(99.9))
	s.Max = micros(h.Max())
	s.Percentiles = percentileCurve(h)
	return s
}

// percentileCurve samples the latency at percentiles evenly spaced on the
// "nines" scale x = -log10(1 - p/100): 0, 90, 99, 99.9 ... as far as the
// sample count resolves, then the maximum.
func percentileCurve(h *hdrhistogram.Histogram) []PercentilePoint {
	xmax := min(math.Log10(float64(h.TotalCount())), 6)
	var pts []PercentilePoint
	for i := 0; ; i++ {
		x := float64(i) / 20
		if x > xmax {
			break
		}
		p := 100 * (1 - math.Pow(10, -x))
		v := h.ValueAtQuantile(p)
		if i == 0 {
			v = h.Min()
		}
		pts = append(pts, PercentilePoint{Percentile: p, Latency: micros(v)})
	}
	return append(pts, PercentilePoint{Percentile: 100 * (1 - math.Pow(10, -xmax)), Latency: micros(h.Max()), Max: true})
}

func micros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }
