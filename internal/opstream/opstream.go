// Package opstream carries many small operations over one long-lived
// Connect bidi stream. ringkv uses it twice: node to node for foreground
// replica operations, and client to node for the pipelined KV API. Both
// would otherwise pay a unary HTTP/2 request per operation, which costs
// several times the operation itself (see DESIGN.md, "Performance shape").
//
// The sending half (Client) queues operations and sends them in batches:
// each batch takes whatever queued while the window of batches in flight
// was full (group commit: the busier the stream, the bigger the batches,
// and no timer ever holds an operation back). Results come back by id, in
// any order. The serving half (Serve) runs each operation on a worker and
// writes results in messages that carry whatever completed while the last
// was being written.
//
// A Protocol names the four message types of one such stream (batch of
// operations, operation, batch of results, result) and how to reach the
// fields opstream owns: ids and time left.
package opstream

import (
	"time"
)

// Limits shared by both halves.
const (
	// MaxBatchOps bounds the operations in one message.
	MaxBatchOps = 4096
	// maxBatchBytes is the payload size past which a batch or a results
	// message is cut, so one message stays well inside the receiver's
	// read limit.
	maxBatchBytes = 1 << 20
	// maxPending bounds the operations queued or awaiting an answer on one
	// stream; past it, callers are refused at once rather than queueing
	// behind a peer that does not keep up.
	maxPending = 8192
	// maxBatchesInFlight is how many batches may be in flight with no
	// answer yet. Operations that arrive meanwhile queue for the next
	// batch; two keep the stream busy while one is being read. A batch
	// leaves the window at its first answer, not its last, so one slow
	// operation does not hold back those queued behind it.
	maxBatchesInFlight = 2
	// MaxInFlight bounds the operations one served stream holds, from
	// reading one until its result is sent (not merely queued); past it
	// the server stops reading and HTTP/2 flow control holds the sender
	// back. So a sender that never reads its results costs the server at
	// most this many results (with 256 KiB Gets, 264 MiB), and stalls
	// only its own stream.
	MaxInFlight = 1024
	// MaxTimeout caps the time an operation says it has left, and is what
	// an operation without a deadline is given.
	MaxTimeout = time.Hour
	// DefaultStall is how long past the latest deadline in flight a peer
	// may leave those operations unanswered, having answered nothing else
	// for as long either, before the stream is torn down and what is still
	// pending on it fails. Until then each operation fails at its own
	// deadline, and one whose deadline has not passed is waited for, even
	// behind a peer that stopped reading (Send blocked under HTTP/2 flow
	// control). A peer serving a stream answers every operation by its
	// deadline, so one this late is stuck, not busy.
	DefaultStall = 5 * time.Second
)

// Protocol describes one kind of stream: B is a batch of operations Op, Rs
// a batch of results Res. Every function must be set.
type Protocol[B, Op, Rs, Res any] struct {
	// Name names the stream in errors ("replica stream").
	Name string
	// Window is how many batches may be in flight with no answer yet
	// (see maxBatchesInFlight, the default).
	Window int

	NewBatch func(ops []*Op) *B
	Ops      func(b *B) []*Op
	// SetHeader sets op's id and the microseconds it has left.
	SetHeader func(op *Op, id uint64, timeoutUs int64)
	// Header is op's id and the microseconds it has left.
	Header func(op *Op) (id uint64, timeoutUs int64)
	// OpSize is op's payload size in bytes, for cutting batches.
	OpSize func(op *Op) int

	NewResults func(rs []*Res) *Rs
	Results    func(rs *Rs) []*Res
	// SetResultID sets the id of the operation r answers; ResultID reads it.
	SetResultID func(r *Res, id uint64)
	ResultID    func(r *Res) uint64
	// ResultSize is r's payload size in bytes, for cutting results messages.
	ResultSize func(r *Res) int
}

// timeLeft is what an operation says it has left, clamped to
// 0..MaxTimeout so that no value a sender puts there overflows a deadline.
func timeLeft(us int64) time.Duration {
	return time.Duration(min(max(us, 0), int64(MaxTimeout/time.Microsecond))) * time.Microsecond
}
