package vclock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// ErrMalformed is wrapped by every error Decode and DecodeVV return.
var ErrMalformed = errors.New("vclock: malformed encoding")

// The encoding, version 1, all integers uvarint (minimal) unless noted:
//
//	set     = version clock siblingCount sibling*
//	context = version clock
//	clock   = entryCount (actor counter)*
//	sibling = actor counter flags valueLen value
//
// version is the byte 1, actor is 8 bytes big-endian (actors are random, so a
// varint would only be longer), flags is one byte with bit 0 set for a
// tombstone. Clock entries and siblings appear in the order the invariants
// keep them in, which makes the encoding canonical.
const (
	formatVersion = 1
	flagTombstone = 1

	actorLen      = 8
	minEntryLen   = actorLen + 1         // actor, 1-byte counter
	minSiblingLen = actorLen + 1 + 1 + 1 // actor, counter, flags, length
	maxPieceLen   = actorLen + 2*binary.MaxVarintLen64 + 1
)

// AppendEncode appends the context encoding of v to dst.
func (v VV) AppendEncode(dst []byte) []byte {
	dst = binary.AppendUvarint(append(dst, formatVersion), uint64(len(v.entries)))
	for _, e := range v.entries {
		dst = appendEntry(dst, e)
	}
	return dst
}

// Encode returns the context encoding of v. Even the empty VV encodes to a
// non-empty string, so "no context" and "empty context" stay distinct.
func (v VV) Encode() []byte { return v.AppendEncode(make([]byte, 0, v.encodedLen())) }

func (v VV) encodedLen() int {
	n := 1 + uvarintLen(uint64(len(v.entries)))
	for _, e := range v.entries {
		n += actorLen + uvarintLen(e.Counter)
	}
	return n
}

func appendEntry(dst []byte, e Entry) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Actor))
	return binary.AppendUvarint(dst, e.Counter)
}

// AppendEncode appends the canonical encoding of s to dst, allocating only if
// dst lacks room.
func (s Set) AppendEncode(dst []byte) []byte {
	dst = s.Clock.AppendEncode(dst)
	dst = binary.AppendUvarint(dst, uint64(len(s.Siblings)))
	for _, sib := range s.Siblings {
		dst = appendSiblingHead(dst, sib)
		dst = append(dst, sib.Value...)
	}
	return dst
}

// Encode returns the canonical encoding of s in a slice of exactly its size.
func (s Set) Encode() []byte { return s.AppendEncode(make([]byte, 0, s.encodedLen())) }

func (s Set) encodedLen() int {
	n := s.Clock.encodedLen() + uvarintLen(uint64(len(s.Siblings)))
	for _, sib := range s.Siblings {
		n += actorLen + uvarintLen(sib.Dot.Counter) + 1 + uvarintLen(uint64(len(sib.Value))) + len(sib.Value)
	}
	return n
}

// appendSiblingHead appends everything of a sibling but its value bytes.
func appendSiblingHead(dst []byte, sib Sibling) []byte {
	dst = appendEntry(dst, Entry(sib.Dot))
	var flags byte
	if sib.Tombstone {
		flags = flagTombstone
	}
	return binary.AppendUvarint(append(dst, flags), uint64(len(sib.Value)))
}

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// FNV-1a, 64 bit.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, p []byte) uint64 {
	for _, c := range p {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// Digest returns the FNV-1a 64 hash of s's canonical encoding, so equal Sets
// have equal digests however they were built. It streams the encoding piece
// by piece instead of materialising it, so it never allocates.
func (s Set) Digest() uint64 {
	var buf [maxPieceLen]byte
	h := fnvAdd(fnvOffset, binary.AppendUvarint(append(buf[:0], formatVersion), uint64(s.Clock.Len())))
	for _, e := range s.Clock.entries {
		h = fnvAdd(h, appendEntry(buf[:0], e))
	}
	h = fnvAdd(h, binary.AppendUvarint(buf[:0], uint64(len(s.Siblings))))
	for _, sib := range s.Siblings {
		h = fnvAdd(h, appendSiblingHead(buf[:0], sib))
		h = fnvAdd(h, sib.Value)
	}
	return h
}

// DigestEncoding returns the Digest of the Set that b encodes, without
// decoding it: for every b that Decode accepts, DigestEncoding(b) equals the
// decoded Set's Digest. It lets anti-entropy hash stored versions as they
// come off disk.
func DigestEncoding(b []byte) uint64 { return fnvAdd(fnvOffset, b) }

// Decode parses a Set encoding, checking every invariant. Errors wrap
// ErrMalformed. The result does not alias b; all its values share one new
// buffer, and a zero-length value decodes as nil. Decode allocates at most a
// small multiple of len(b), however b lies about counts and lengths.
func Decode(b []byte) (Set, error) {
	d := decoder{b: b}
	d.version()
	s := Set{Clock: VV{entries: d.entries()}}
	s.Siblings = d.siblings()
	if err := d.finish(); err != nil {
		return Set{}, err
	}
	if err := s.Validate(); err != nil {
		return Set{}, err
	}
	return s, nil
}

// DecodeVV parses a context encoding as strictly as Decode parses a Set.
func DecodeVV(b []byte) (VV, error) {
	d := decoder{b: b}
	d.version()
	v := VV{entries: d.entries()}
	if err := d.finish(); err != nil {
		return VV{}, err
	}
	return v, nil
}

// decoder reads b front to back. The first problem sticks in err; after it
// every read returns zero values, so callers check once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}

func (d *decoder) version() {
	if v := d.byte(); d.err == nil && v != formatVersion {
		d.fail("unknown version %d", v)
	}
}

func (d *decoder) byte() byte {
	if p := d.bytes(1); len(p) == 1 {
		return p[0]
	}
	return 0
}

func (d *decoder) actor() Actor {
	if p := d.bytes(actorLen); len(p) == actorLen {
		return Actor(binary.BigEndian.Uint64(p))
	}
	return 0
}

// uvarint reads a minimally encoded uvarint; a padded one would let two
// byte strings decode to the same Set and break canonical encoding.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.fail("truncated varint")
	case n < 0:
		d.fail("varint overflows 64 bits")
	case n != uvarintLen(x):
		d.fail("non-minimal varint")
	default:
		d.b = d.b[n:]
		return x
	}
	return 0
}

// bytes consumes n bytes, or fails if fewer remain.
func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("truncated: need %d bytes, have %d", n, len(d.b))
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

// count reads an item count and checks that the remaining bytes could hold
// that many items of at least minLen bytes each, before anyone allocates for
// them.
func (d *decoder) count(minLen int, what string) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/minLen) {
		d.fail("%d %s cannot fit in %d bytes", n, what, len(d.b))
		return 0
	}
	return int(n)
}

func (d *decoder) entries() []Entry {
	n := d.count(minEntryLen, "clock entries")
	if n == 0 {
		return nil
	}
	es := make([]Entry, n)
	for i := 0; i < n && d.err == nil; i++ {
		es[i] = Entry{Actor: d.actor(), Counter: d.uvarint()}
		d.checkEntry(es, i)
	}
	return es
}

func (d *decoder) checkEntry(es []Entry, i int) {
	switch e := es[i]; {
	case d.err != nil:
	case e.Actor == 0 || e.Counter == 0:
		d.fail("clock entry %d has a zero actor or counter", i)
	case i > 0 && es[i-1].Actor >= e.Actor:
		d.fail("clock entry %d (actor %v) is out of order or repeated", i, e.Actor)
	}
}

// siblings copies all values into one buffer. Each sibling's head takes at
// least minSiblingLen bytes, so the values together fit in what remains
// after that, which bounds the buffer by len(b).
func (d *decoder) siblings() []Sibling {
	n := d.count(minSiblingLen, "siblings")
	if n == 0 {
		return nil
	}
	sibs := make([]Sibling, n)
	arena := make([]byte, 0, len(d.b)-n*minSiblingLen)
	for i := 0; i < n && d.err == nil; i++ {
		sibs[i], arena = d.sibling(arena)
	}
	return sibs
}

// sibling reads one sibling, copying its value to the end of arena, which has
// room for it. Ordering, coverage and tombstone rules are left to Validate.
func (d *decoder) sibling(arena []byte) (Sibling, []byte) {
	s := Sibling{Dot: Dot{Actor: d.actor(), Counter: d.uvarint()}}
	flags := d.byte()
	if d.err == nil && flags&^flagTombstone != 0 {
		d.fail("unknown sibling flags %#x", flags)
	}
	s.Tombstone = flags&flagTombstone != 0
	if v := d.bytes(d.uvarint()); len(v) > 0 {
		start := len(arena)
		arena = append(arena, v...)
		s.Value = arena[start:len(arena):len(arena)] // capped: appending to one value cannot clobber the next
	}
	return s, arena
}
