package membership

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/ringkv/ringkv/ring"
)

// MaxMembers bounds the member record, retired members included, so that a
// decoded state and the rings built from it stay small.
const MaxMembers = 1024

// MaxIDLen bounds a member id in bytes.
const MaxIDLen = 255

var (
	// ErrEmptyID is returned for an empty member id.
	ErrEmptyID = errors.New("membership: empty member id")
	// ErrIDTooLong is returned for an id longer than MaxIDLen bytes.
	ErrIDTooLong = errors.New("membership: member id too long")
	// ErrTooManyMembers is returned when the record would exceed MaxMembers.
	ErrTooManyMembers = errors.New("membership: too many members")
	// ErrConfigMismatch is returned when two states, or a state and the
	// caller's configuration, disagree on the ring's shape.
	ErrConfigMismatch = errors.New("membership: ring configurations differ")
	// ErrPartitionRange is returned for a partition outside 0..Q-1.
	ErrPartitionRange = errors.New("membership: partition out of range")
)

// Status is where a member is in its life in the ring. It only moves
// forward: Active < Leaving < Removed.
type Status uint8

const (
	// Active members are in the target ring: they own partitions or are
	// receiving them (a joining member is Active with pending transfers).
	Active Status = 1
	// Leaving members are handing their partitions off and are out of the
	// target ring; they stay current owners until each hand-off is done.
	Leaving Status = 2
	// Removed members were taken out by an operator, usually because they
	// are dead; their partitions are rebuilt from the other owners.
	Removed Status = 3
)

func (s Status) String() string {
	switch s {
	case Active:
		return "active"
	case Leaving:
		return "leaving"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// State is one version of the agreed ring. It is an immutable value: every
// transition returns a new State, and a State is safe for concurrent use.
// The zero State is not usable; start from New, Empty or Unmarshal.
type State struct {
	cfg     ring.Config // defaults applied
	members []member    // sorted by id, distinct
	regs    []register  // one per partition: its current owners
	facts   []fact      // completed copies, sorted by (partition, id); key == view.key[p]
	v       *view
}

type member struct {
	id     string
	status Status
}

// register holds a partition's current owners, in preference order, and the
// epoch (the state's weight when they were settled) that orders registers.
// The zero register (no owners) is the bottom: nothing settled yet.
type register struct {
	epoch  uint64
	owners []string
}

// fact records that id holds a complete copy of partition p for the target
// whose key is key.
type fact struct {
	p   int
	id  string
	key uint64
}

// view is what a State's members determine; it is rebuilt when they change.
type view struct {
	active *ring.Ring // over Active members; nil if there are none
	target [][]string // per partition: Preference over Active members
	key    []uint64   // per partition: targetKey
	weight uint64     // sum of member statuses
	shift  uint
}

// Empty returns the state with no members: the bottom every state merges
// over, for a node that has not yet learnt the cluster's ring.
func Empty(cfg ring.Config) (State, error) {
	if err := cfg.Validate(); err != nil {
		return State{}, fmt.Errorf("membership: %w", err)
	}
	cfg = withDefaults(cfg)
	s := State{cfg: cfg, regs: make([]register, cfg.Partitions)}
	return s.withMembers(nil)
}

// New returns the state of a new cluster whose founders own every
// partition already: nothing is transferred. Every founding node must use
// the same founders (or only one node calls New and the others Join).
func New(cfg ring.Config, founders ...string) (State, error) {
	s, err := Empty(cfg)
	if err != nil {
		return State{}, err
	}
	ids := slices.Compact(slices.Sorted(slices.Values(founders)))
	ms := make([]member, 0, len(ids))
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return State{}, err
		}
		ms = append(ms, member{id: id, status: Active})
	}
	if len(ms) > MaxMembers {
		return State{}, fmt.Errorf("%w: %d founders, at most %d", ErrTooManyMembers, len(ms), MaxMembers)
	}
	if s, err = s.withMembers(ms); err != nil {
		return State{}, err
	}
	for p := range s.regs {
		s.regs[p] = register{epoch: s.v.weight, owners: s.v.target[p]}
	}
	return s, nil
}

// withDefaults fills zero fields the way ring does, so that equal shapes
// compare equal however they were written. ring keeps its defaults to
// itself but reports them: a one-member ring is cheap to build.
func withDefaults(c ring.Config) ring.Config {
	r, err := ring.New(c, []string{"defaults"})
	if err != nil {
		return c // unreachable: c was validated
	}
	return r.Config()
}

func checkID(id string) error {
	switch {
	case id == "":
		return ErrEmptyID
	case len(id) > MaxIDLen:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrIDTooLong, len(id), MaxIDLen)
	}
	return nil
}

// withMembers returns s with members ms (sorted, distinct), its view
// rebuilt and the facts for outdated targets dropped.
func (s State) withMembers(ms []member) (State, error) {
	v, err := newView(s.cfg, ms)
	if err != nil {
		return State{}, err
	}
	s.members, s.v = ms, v
	s.facts = slices.DeleteFunc(slices.Clone(s.facts), func(f fact) bool { return f.key != v.key[f.p] })
	return s, nil
}

func newView(cfg ring.Config, ms []member) (*view, error) {
	q := cfg.Partitions
	v := &view{target: make([][]string, q), key: make([]uint64, q),
		shift: uint(64 - bits.TrailingZeros(uint(q)))}
	var all, active []string
	for _, m := range ms {
		all = append(all, m.id)
		v.weight += uint64(m.status)
		if m.status == Active {
			active = append(active, m.id)
		}
	}
	if len(all) == 0 {
		return v, nil
	}
	whole, err := ring.New(cfg, all)
	if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	if len(active) > 0 {
		if v.active, err = ring.New(cfg, active); err != nil {
			return nil, fmt.Errorf("membership: %w", err)
		}
	}
	isActive := func(id string) bool { _, ok := slices.BinarySearch(active, id); return ok }
	for p := range q {
		if v.active != nil {
			v.target[p] = v.active.Preference(p)
		}
		v.key[p] = targetKey(whole.Walk(p), isActive, cfg.N)
	}
	return v, nil
}

// targetKey digests partition p's walk over every member of the record, up
// to and including its N-th active member, each with whether it is active.
// A completion counts only under the key it was made for. Statuses only move
// forward and members are never dropped from the record, so a key that has
// changed never comes back (see doc.go): a member pushed out of a target and
// back in again cannot reuse a completion from before, when it may have
// stopped receiving writes.
func targetKey(walk []string, isActive func(string) bool, n int) uint64 {
	var buf []byte
	seen := 0
	for _, id := range walk {
		if seen == n {
			break
		}
		bit := byte(0)
		if isActive(id) {
			bit, seen = 1, seen+1
		}
		buf = append(append(append(buf, byte(len(id))), id...), bit)
	}
	return xxhash.Sum64(buf)
}

// Config returns the ring configuration, defaults filled in.
func (s State) Config() ring.Config { return s.cfg }

// Partitions returns Q.
func (s State) Partitions() int { return s.cfg.Partitions }

// PartitionOf returns the partition of a key hash (ring.KeyHash).
func (s State) PartitionOf(hash uint64) int { return int(hash >> s.v.shift) }

// Ring returns the target ring, over the Active members, or nil if there
// are none. Its walks give the fallbacks for sloppy quorum; owners and
// pending owners come from Owners and Pending, not from its preference lists.
func (s State) Ring() *ring.Ring { return s.v.active }

// Owners returns partition p's current owners in preference order: they
// serve reads and count toward W. The slice is shared and must not be
// modified. It panics if p is out of range.
func (s State) Owners(p int) []string { return s.regs[p].owners }

// Target returns the owners partition p is moving to: the preference list
// over the Active members. Equal (as a set) to Owners(p) when p is settled.
// The slice is shared and must not be modified.
func (s State) Target(p int) []string { return s.v.target[p] }

// Pending returns the members of p's target that are not yet owners, in
// preference order: they receive writes but count toward neither R nor W.
// The caller owns the slice.
func (s State) Pending(p int) []string {
	return missing(s.v.target[p], s.regs[p].owners)
}

// missing returns the elements of a that are not in b, in a's order.
func missing(a, b []string) []string {
	return slices.DeleteFunc(slices.Clone(a), func(id string) bool { return slices.Contains(b, id) })
}

// Status returns id's status, and false if id is not in the record.
func (s State) Status(id string) (Status, bool) {
	i, ok := s.find(id)
	if !ok {
		return 0, false
	}
	return s.members[i].status, true
}

func (s State) find(id string) (int, bool) {
	return slices.BinarySearchFunc(s.members, id, func(m member, id string) int { return strings.Compare(m.id, id) })
}

// Version grows with every change of a member's status and every partition
// whose owners are settled, and is equal for equal states; it is for people
// (`ringkv ring`). Use Digest to tell whether two states are equal.
func (s State) Version() uint64 {
	v := s.v.weight
	for _, r := range s.regs {
		v += r.epoch
	}
	return v
}

// Digest is a hash of the state's encoding: equal states have equal
// digests, so gossip metadata can carry it and nodes fetch a peer's state
// only when the digests differ.
func (s State) Digest() uint64 { return xxhash.Sum64(s.Marshal()) }

// String summarises the state for logs and errors.
func (s State) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "membership{version=%d", s.Version())
	for _, m := range s.members {
		fmt.Fprintf(&b, " %s:%s", m.id, m.status)
	}
	fmt.Fprintf(&b, " transfers=%d}", len(s.Transfers()))
	return b.String()
}
