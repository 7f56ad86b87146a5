package transfers

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
)

// State is where a transfer is.
type State string

const (
	Waiting   State = "waiting"   // for a slot
	Streaming State = "streaming" // sending batches
	Retrying  State = "retrying"  // backing off after a failed call
)

// Progress is one transfer as Snapshot reports it, for `ringkv transfers`
// and metrics.
type Progress struct {
	ID    ID
	State State
	// Keys and Bytes count what the receiver applied since this Manager
	// started the transfer (a resumed transfer counts from its cursor).
	Keys, Bytes int64
	// BytesSent counts every byte sent for it, resends included.
	BytesSent int64
	// Fraction estimates how much of the partition the receiver holds, in
	// [0, 1], from how far through the partition's hash range the cursor
	// lies (keys hash uniformly).
	Fraction float64
	Rate     float64       // bytes applied per second since the stream (re)started
	ETA      time.Duration // estimated time to finish; -1 while unknown
	Attempts int           // failed attempts so far
	LastErr  string        // the last failure, "" if none
	Started  time.Time
}

// job is one running transfer and its progress.
type job struct {
	id      ID
	peer    Peer
	cancel  func()
	started time.Time

	mu            sync.Mutex
	state         State
	keys, bytes   int64
	bytesSent     int64
	fraction      float64
	from          float64   // fraction after the stream's first batch
	since         time.Time // when the stream's first batch was applied; zero before
	streamedBytes int64     // applied since then
	attempts      int
	lastErr       string
}

// resumed marks the start of a stream (each attempt is one) from cur.
func (j *job) resumed(cur Cursor) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.state, j.since, j.streamedBytes = Streaming, time.Time{}, 0
	if cur.Done {
		j.fraction = 1
	}
}

func (j *job) sent(n int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.bytesSent += n
}

// applied counts a batch the receiver applied. Rate and ETA are measured
// from the stream's first batch on, whose position is then known.
func (j *job) applied(keys int, n int64, fraction float64, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys += int64(keys)
	j.bytes += n
	j.fraction = fraction
	if j.since.IsZero() {
		j.since, j.from = now, fraction
		return
	}
	j.streamedBytes += n
}

func (j *job) appliedBytes() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.bytes
}

func (j *job) failed(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.state, j.attempts, j.lastErr = Retrying, j.attempts+1, err.Error()
}

// progress reports j at now.
func (j *job) progress(now time.Time) Progress {
	j.mu.Lock()
	defer j.mu.Unlock()
	p := Progress{ID: j.id, State: j.state, Keys: j.keys, Bytes: j.bytes, BytesSent: j.bytesSent,
		Fraction: j.fraction, ETA: -1, Attempts: j.attempts, LastErr: j.lastErr, Started: j.started}
	elapsed := now.Sub(j.since)
	if j.state != Streaming || j.since.IsZero() || elapsed <= 0 {
		return p
	}
	p.Rate = float64(j.streamedBytes) / elapsed.Seconds()
	if gained := j.fraction - j.from; gained > 0 {
		p.ETA = time.Duration(float64(elapsed) * (1 - j.fraction) / gained)
	}
	return p
}

// Snapshot reports every transfer this Manager is running, by ID.
func (m *Manager) Snapshot() []Progress {
	m.mu.Lock()
	jobs := make([]*job, 0, len(m.jobs))
	for _, j := range m.jobs {
		jobs = append(jobs, j)
	}
	m.mu.Unlock()
	now := m.cfg.Now()
	out := make([]Progress, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, j.progress(now))
	}
	slices.SortFunc(out, func(a, b Progress) int { return compareID(a.ID, b.ID) })
	return out
}

func compareID(a, b ID) int {
	switch {
	case a.Partition != b.Partition:
		return a.Partition - b.Partition
	case a.From != b.From:
		return strings.Compare(a.From, b.From)
	case a.To != b.To:
		return strings.Compare(a.To, b.To)
	}
	return cmp.Compare(a.Epoch, b.Epoch)
}
