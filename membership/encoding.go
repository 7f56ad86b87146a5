package membership

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/ringkv/ringkv/ring"
)

// ErrMalformed is wrapped by every error Unmarshal returns for bad bytes.
var ErrMalformed = errors.New("membership: malformed encoding")

// The encoding, version 1, all integers minimal uvarints unless noted:
//
//	state    = magic version partitions vnodes n memberCount member* register{partitions} factCount fact*
//	member   = idLen id status            (ids strictly increasing; status one byte)
//	register = epoch [ownerCount owner*]  (owners only when epoch > 0; owner = member index)
//	fact     = partition member key       (strictly increasing by (partition, member); key 8 bytes big-endian)
//
// magic is "rkm", version the byte 1. Everything appears in the order the
// State keeps it, so equal states encode to equal bytes and Digest can hash
// the encoding.
const (
	magic         = "rkm"
	formatVersion = 1
)

// Marshal returns the canonical encoding of s.
func (s State) Marshal() []byte {
	b := append([]byte(magic), formatVersion)
	for _, x := range []int{s.cfg.Partitions, s.cfg.VNodes, s.cfg.N, len(s.members)} {
		b = binary.AppendUvarint(b, uint64(x))
	}
	for _, m := range s.members {
		b = append(binary.AppendUvarint(b, uint64(len(m.id))), m.id...)
		b = append(b, byte(m.status))
	}
	for _, r := range s.regs {
		b = binary.AppendUvarint(b, r.epoch)
		if r.epoch == 0 {
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(r.owners)))
		for _, id := range r.owners {
			i, _ := s.find(id)
			b = binary.AppendUvarint(b, uint64(i))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(s.facts)))
	for _, f := range s.facts {
		i, _ := s.find(f.id)
		b = binary.AppendUvarint(binary.AppendUvarint(b, uint64(f.p)), uint64(i))
		b = binary.BigEndian.AppendUint64(b, f.key)
	}
	return b
}

// Unmarshal decodes a state encoded by Marshal. cfg is the caller's ring
// configuration: a state of another shape is refused (ErrConfigMismatch)
// before anything is built from it, so a peer cannot make a node build a
// huge ring. Bad bytes give an error wrapping ErrMalformed, never a panic.
func Unmarshal(cfg ring.Config, b []byte) (State, error) {
	s, err := Empty(cfg)
	if err != nil {
		return State{}, err
	}
	d := &decoder{b: b}
	if string(d.bytes(len(magic))) != magic || d.byte() != formatVersion {
		return State{}, fmt.Errorf("%w: not a membership state", ErrMalformed)
	}
	got := ring.Config{Partitions: d.int(), VNodes: d.int(), N: d.int()}
	if d.err == nil && got != s.cfg {
		return State{}, fmt.Errorf("%w: state has %+v, this node %+v", ErrConfigMismatch, got, s.cfg)
	}
	ms := d.members()
	if d.err != nil {
		return State{}, d.err
	}
	if s, err = s.withMembers(ms); err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	s.regs = d.registers(s.cfg, ms, s.v.weight)
	s.facts = d.facts(s.cfg, ms, s.v)
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return State{}, d.err
	}
	return s, nil
}

// decoder reads from b, remembering the first error; after it every read
// returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	d.b = nil
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil || n > len(d.b) {
		d.fail("truncated")
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) uint64() uint64 {
	if b := d.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) byte() byte {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

// uint reads a minimal uvarint, so that every state has one encoding.
func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, v)) {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// intBelow reads a uvarint that must be below limit (a count or index).
func (d *decoder) intBelow(limit int) int {
	v := d.uint()
	if d.err == nil && v >= uint64(limit) {
		d.fail("%d out of range 0..%d", v, limit-1)
		return 0
	}
	return int(v)
}

func (d *decoder) int() int { return d.intBelow(ring.MaxPartitions + 1) }

func (d *decoder) members() []member {
	n := d.intBelow(MaxMembers + 1)
	if n > len(d.b)/3 { // each member takes at least 3 bytes
		d.fail("%d members in %d bytes", n, len(d.b))
	}
	var ms []member
	for range n {
		id := string(d.bytes(d.intBelow(MaxIDLen + 1)))
		st := Status(d.byte())
		switch {
		case d.err != nil:
			return nil
		case id == "" || (len(ms) > 0 && ms[len(ms)-1].id >= id):
			d.fail("member ids empty or not strictly increasing at %q", id)
		case st < Active || st > Removed:
			d.fail("member %q has status %d", id, st)
		}
		ms = append(ms, member{id: id, status: st})
	}
	return ms
}

// registers reads one register per partition. An epoch is the weight of the
// state that settled it, and member statuses only grow, so no epoch exceeds
// the state's own weight: a peer cannot send one that wins every merge.
func (d *decoder) registers(cfg ring.Config, ms []member, weight uint64) []register {
	regs := make([]register, cfg.Partitions)
	for p := range regs {
		r := register{epoch: d.uint()}
		if d.err == nil && r.epoch > weight {
			d.fail("partition %d has epoch %d above the state's weight %d", p, r.epoch, weight)
		}
		if r.epoch > 0 {
			k := d.intBelow(cfg.N + 1)
			for range k {
				id := d.member(ms)
				if d.err == nil && slices.Contains(r.owners, id) {
					d.fail("partition %d lists owner %q twice", p, id)
				}
				r.owners = append(r.owners, id)
			}
			if d.err == nil && k == 0 {
				d.fail("partition %d has an epoch but no owners", p)
			}
		}
		regs[p] = r
	}
	return regs
}

func (d *decoder) member(ms []member) string {
	i := d.intBelow(len(ms))
	if d.err != nil {
		return ""
	}
	return ms[i].id
}

func (d *decoder) facts(cfg ring.Config, ms []member, v *view) []fact {
	n := d.uint()
	if d.err == nil && n > uint64(len(d.b)/10) { // each fact takes at least 10 bytes
		d.fail("%d facts in %d bytes", n, len(d.b))
	}
	var fs []fact
	for range n {
		f := fact{p: d.intBelow(cfg.Partitions), id: d.member(ms)}
		f.key = d.uint64()
		switch {
		case d.err != nil:
			return nil
		case len(fs) > 0 && compareFact(fs[len(fs)-1], f) >= 0:
			d.fail("facts not strictly increasing at partition %d", f.p)
		case f.key != v.key[f.p]:
			d.fail("fact for %q on partition %d is for an outdated target", f.id, f.p)
		}
		fs = append(fs, f)
	}
	return fs
}
