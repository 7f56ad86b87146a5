package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// meta is what a node advertises about itself as its memberlist node meta.
// memberlist carries at most memberlist.MetaMaxSize (512) bytes of it;
// Config.Validate checks the encoding fits.
type meta struct {
	ID       string
	RPCAddr  string
	Settings Settings
	// Boot is chosen at random each time the process starts, so that what is
	// known about one life of a node (that it left) is not applied to the
	// next one.
	Boot uint64
	// Leaving is set by Leave just before memberlist broadcasts the leave:
	// memberlist itself does not tell observers a leave from a failure.
	Leaving bool
	// Ring is the digest of the node's agreed ring (membership.State's
	// Digest), 0 while it has none: a peer whose digest differs fetches
	// the state. Nodes that predate it send none, which decodes as 0.
	Ring uint64
}

// Encoding, version 1:
//
//	version byte (1) | flags byte (bit 0: leaving) |
//	uvarint N | uvarint Partitions | 8-byte big-endian boot |
//	uvarint len | id | uvarint len | rpc addr |
//	8-byte big-endian ring digest (appended later: absent reads as 0)
//
// A decoder accepts trailing bytes, so a later version may append fields
// without breaking older nodes; a change to the fields above needs a new
// version byte, which older nodes reject.
const (
	metaVersion   = 1
	flagLeaving   = 1 << 0
	maxSettingVal = math.MaxInt32
)

var errMalformed = errors.New("gossip: malformed data from peer")

func (m meta) encode() []byte {
	b := make([]byte, 0, 2+3*binary.MaxVarintLen64+16+len(m.ID)+len(m.RPCAddr))
	var flags byte
	if m.Leaving {
		flags |= flagLeaving
	}
	b = append(b, metaVersion, flags)
	b = binary.AppendUvarint(b, uint64(m.Settings.N))
	b = binary.AppendUvarint(b, uint64(m.Settings.Partitions))
	b = binary.BigEndian.AppendUint64(b, m.Boot)
	b = appendString(b, m.ID)
	b = appendString(b, m.RPCAddr)
	return binary.BigEndian.AppendUint64(b, m.Ring)
}

func decodeMeta(b []byte) (meta, error) {
	if len(b) < 2 {
		return meta{}, fmt.Errorf("%w: %d bytes", errMalformed, len(b))
	}
	if b[0] != metaVersion {
		return meta{}, fmt.Errorf("%w: version %d, want %d", errMalformed, b[0], metaVersion)
	}
	m := meta{Leaving: b[1]&flagLeaving != 0}
	r := reader{b: b[2:]}
	m.Settings.N = r.setting()
	m.Settings.Partitions = r.setting()
	m.Boot = r.uint64()
	m.ID = r.string()
	m.RPCAddr = r.string()
	if len(r.b) > 0 { // absent from older nodes' meta
		m.Ring = r.uint64()
	}
	if r.err != nil {
		return meta{}, r.err
	}
	return m, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// reader decodes the fields above; after the first error every read
// returns a zero value and err says what was wrong.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: bad %s", errMalformed, what)
	}
	r.b = nil
}

func (r *reader) uvarint(what string) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) setting() int {
	v := r.uvarint("setting")
	if v > maxSettingVal {
		r.fail("setting")
		return 0
	}
	return int(v)
}

func (r *reader) uint64() uint64 {
	if len(r.b) < 8 {
		r.fail("8-byte field")
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint("string length")
	if n > uint64(len(r.b)) {
		r.fail("string")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
