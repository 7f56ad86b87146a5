package transfers

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ringkv/ringkv/storage"
)

var (
	// ErrGap refuses a batch that starts past the receiver's cursor: applying
	// it would skip the keys in between. The donor resumes from the cursor
	// the error's Cursor carries.
	ErrGap = errors.New("transfers: batch starts past the receiver's cursor")
	// ErrBadBatch refuses a batch that is malformed or over the bounds.
	ErrBadBatch = errors.New("transfers: bad batch")
	// ErrClosed is returned once the Manager is closed.
	ErrClosed = errors.New("transfers: closed")
	// ErrTooManyJobs refuses a transfer beyond Config.MaxJobs.
	ErrTooManyJobs = errors.New("transfers: too many transfers")
	// ErrBadConfig is returned by Config.Validate.
	ErrBadConfig = errors.New("transfers: bad config")
)

// ID names one transfer: the copy of Partition from the donor From to the
// pending owner To. Epoch is chosen by the caller and must change whenever
// a copy made before may have gone stale (the receiver stopped being
// pending and missed writes): node passes a value of the agreed ring that
// changes when the partition's target does. A new ID starts from zero.
type ID struct {
	Partition int
	From, To  string
	Epoch     uint64
}

func (id ID) String() string {
	return fmt.Sprintf("p%d %s→%s @%d", id.Partition, id.From, id.To, id.Epoch)
}

// Cursor is where a receiver's copy stands: every entry of the stream up to
// and including After is applied (nil: none); Done once the last batch is.
type Cursor struct {
	After []byte
	Done  bool
}

// Batch is one bounded step of a transfer: the stream's entries after After
// up to and including Next.
type Batch struct {
	ID    ID
	After []byte
	Items []storage.TransferItem
	Next  []byte
	Done  bool // the stream ends with this batch
}

// Size is the batch's bytes, as paced and counted.
func (b Batch) Size() int64 {
	n := len(b.After) + len(b.Next)
	for _, it := range b.Items {
		n += it.Size()
	}
	return int64(n)
}

// Peer is the receiving side of transfers, as a donor reaches it. Node
// implements it over Connect; a Receiver is its in-process twin. Both calls
// honour ctx's deadline.
type Peer interface {
	// Send applies b on the receiver and returns the receiver's cursor
	// after it. A batch that starts past the cursor fails with ErrGap
	// (wrapped in a *GapError that carries the cursor).
	Send(ctx context.Context, b Batch) (Cursor, error)
	// Cursor returns where the receiver's copy of id stands.
	Cursor(ctx context.Context, id ID) (Cursor, error)
}

// GapError is ErrGap with the receiver's cursor.
type GapError struct{ Cursor Cursor }

func (e *GapError) Error() string { return ErrGap.Error() }
func (e *GapError) Unwrap() error { return ErrGap }

// metaPrefix starts every stored cursor key (storage's node-state keys
// start with 'm').
const metaPrefix = "mxfer/"

// metaKey is where the receiver keeps id's cursor.
func metaKey(id ID) []byte {
	k := binary.BigEndian.AppendUint32([]byte(metaPrefix), uint32(id.Partition))
	k = binary.BigEndian.AppendUint64(k, id.Epoch)
	k = binary.AppendUvarint(k, uint64(len(id.From)))
	k = append(k, id.From...)
	return append(k, id.To...)
}

// encodeCursor is the stored form of a cursor: a done flag, then After.
func encodeCursor(c Cursor) []byte {
	flag := byte(0)
	if c.Done {
		flag = 1
	}
	return append([]byte{flag}, c.After...)
}

func decodeCursor(raw []byte) (Cursor, error) {
	if len(raw) == 0 {
		return Cursor{}, nil
	}
	if raw[0] > 1 {
		return Cursor{}, fmt.Errorf("%w: stored cursor flag %d", ErrBadBatch, raw[0])
	}
	c := Cursor{Done: raw[0] == 1}
	if len(raw) > 1 {
		c.After = raw[1:]
	}
	return c, nil
}
