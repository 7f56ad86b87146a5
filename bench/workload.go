package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every refusal of a workload, option or property.
var ErrInvalid = errors.New("bench: invalid")

// OpType is one kind of operation, named as YCSB names it.
type OpType int

const (
	Read OpType = iota
	Update
	Insert
	ReadModifyWrite
	numOpTypes
)

var opNames = [numOpTypes]string{"READ", "UPDATE", "INSERT", "READ-MODIFY-WRITE"}

func (o OpType) String() string {
	if o < 0 || o >= numOpTypes {
		return fmt.Sprintf("OpType(%d)", int(o))
	}
	return opNames[o]
}

// Distribution is how reads, updates and read-modify-writes pick records.
type Distribution string

const (
	// Uniform picks any loaded record with equal probability.
	Uniform Distribution = "uniform"
	// Zipfian is YCSB's scrambled zipfian: a few records, scattered over
	// the key space, take most requests.
	Zipfian Distribution = "zipfian"
	// Latest favours the most recently inserted records (workload D).
	Latest Distribution = "latest"
)

// ParseDistribution accepts uniform, zipfian or latest.
func ParseDistribution(s string) (Distribution, error) {
	switch d := Distribution(strings.ToLower(strings.TrimSpace(s))); d {
	case Uniform, Zipfian, Latest:
		return d, nil
	}
	return "", fmt.Errorf("%w: request distribution %q (want uniform, zipfian or latest)", ErrInvalid, s)
}

// Workload is the operation mix and the key distribution. Proportions are
// relative weights, as in YCSB: they need not sum to 1.
type Workload struct {
	Name            string       `json:"name"` // "a".."w", or a file name
	ReadProp        float64      `json:"read_proportion"`
	UpdateProp      float64      `json:"update_proportion"`
	InsertProp      float64      `json:"insert_proportion"`
	ReadModifyWrite float64      `json:"read_modify_write_proportion"`
	Distribution    Distribution `json:"request_distribution"`
}

var presets = map[string]Workload{
	"a": {Name: "a", ReadProp: 0.5, UpdateProp: 0.5, Distribution: Zipfian},
	"b": {Name: "b", ReadProp: 0.95, UpdateProp: 0.05, Distribution: Zipfian},
	"c": {Name: "c", ReadProp: 1, Distribution: Zipfian},
	"d": {Name: "d", ReadProp: 0.95, InsertProp: 0.05, Distribution: Latest},
	"f": {Name: "f", ReadProp: 0.5, ReadModifyWrite: 0.5, Distribution: Zipfian},
	"w": {Name: "w", UpdateProp: 1, Distribution: Zipfian},
}

// Preset returns YCSB core workload a, b, c, d or f, or w (write only).
func Preset(name string) (Workload, error) {
	w, ok := presets[strings.TrimPrefix(strings.ToLower(name), "workload")]
	if !ok {
		names := make([]string, 0, len(presets))
		for n := range presets {
			names = append(names, n)
		}
		sort.Strings(names)
		return Workload{}, fmt.Errorf("%w: workload %q (want one of %s)", ErrInvalid, name, strings.Join(names, ", "))
	}
	return w, nil
}

// ycsbDefault is CoreWorkload's mix when a property file says nothing.
func ycsbDefault() Workload {
	return Workload{ReadProp: 0.95, UpdateProp: 0.05, Distribution: Uniform}
}

func (w Workload) props() [numOpTypes]float64 {
	return [numOpTypes]float64{w.ReadProp, w.UpdateProp, w.InsertProp, w.ReadModifyWrite}
}

// Validate checks the proportions and the distribution.
func (w Workload) Validate() error {
	sum := 0.0
	for op, p := range w.props() {
		if p < 0 || p != p {
			return fmt.Errorf("%w: %s proportion %v is negative", ErrInvalid, OpType(op), p)
		}
		sum += p
	}
	if sum == 0 {
		return fmt.Errorf("%w: every operation proportion is zero", ErrInvalid)
	}
	_, err := ParseDistribution(string(w.Distribution))
	return err
}

// String is the mix in one line, e.g. "read 0.50, update 0.50; zipfian".
func (w Workload) String() string {
	var parts []string
	for op, p := range w.props() {
		if p > 0 {
			parts = append(parts, strings.ToLower(OpType(op).String())+" "+strconv.FormatFloat(p, 'f', -1, 64))
		}
	}
	return strings.Join(parts, ", ") + "; " + string(w.Distribution)
}

// opChooser draws operation types by weight (YCSB's DiscreteGenerator).
type opChooser struct{ cum [numOpTypes]float64 }

func newOpChooser(w Workload) opChooser {
	var c opChooser
	sum := 0.0
	for op, p := range w.props() {
		sum += p
		c.cum[op] = sum
	}
	for op := range c.cum {
		c.cum[op] /= sum
	}
	return c
}

func (c opChooser) next(r *rand.Rand) OpType {
	u := r.Float64()
	for op, limit := range c.cum {
		if u < limit {
			return OpType(op)
		}
	}
	// u is just under 1 and rounding left the last sum below it: take the
	// last type that has any weight.
	for op := numOpTypes - 1; op > 0; op-- {
		if c.cum[op] > c.cum[op-1] {
			return op
		}
	}
	return Read
}

// keyName is CoreWorkload's buildKeyName: "user" and the record number,
// hashed unless inserts are ordered.
func keyName(num int64, ordered bool) []byte {
	if !ordered {
		num = fnvHash64(num)
	}
	return strconv.AppendInt([]byte("user"), num, 10)
}

// op is one operation to perform.
type op struct {
	typ OpType
	num int64 // record number
}

// generator produces one worker's operations. Workers share only the
// insert sequence.
type generator struct {
	rng    *rand.Rand
	ops    opChooser
	keys   keyChooser
	insert *insertSequence
}

// keySpace is what every worker's generator is cloned from.
type keySpace struct {
	ops     opChooser
	records int64
	dist    Distribution
	insert  *insertSequence
	zipf    *zipfian // prototype: its zeta is computed once
	items   int64    // scrambled zipfian item count
}

// newKeySpace prepares the generators for records loaded records; extra is
// how many inserts the run is expected to add (YCSB counts them into the
// zipfian's item count so popular keys stay popular as records arrive).
func newKeySpace(w Workload, records, extra int64) *keySpace {
	ks := &keySpace{ops: newOpChooser(w), records: records, dist: w.Distribution, insert: newInsertSequence(records)}
	switch w.Distribution {
	case Zipfian:
		ks.zipf = newZipfian(0, scrambledItems+1, zipfianConstant, scrambledZetan)
		ks.items = records + extra
	case Latest:
		ks.zipf = newZipfian(0, max(records-1, 1), zipfianConstant, 0)
	}
	return ks
}

func (ks *keySpace) generator(seed1, seed2 uint64) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed1, seed2)), ops: ks.ops, insert: ks.insert}
	switch ks.dist {
	case Zipfian:
		g.keys = &scrambledZipfianKeys{z: ks.zipf.clone(), items: ks.items, insert: ks.insert}
	case Latest:
		g.keys = &latestKeys{z: ks.zipf.clone(), insert: ks.insert}
	default:
		g.keys = uniformKeys{n: ks.records}
	}
	return g
}

// next is the worker's next operation. An insert takes a new record number,
// which must be acknowledged (g.done) when the insert returns.
func (g *generator) next() op {
	t := g.ops.next(g.rng)
	if t == Insert {
		return op{typ: Insert, num: g.insert.take()}
	}
	return op{typ: t, num: g.keys.next(g.rng)}
}

// done acknowledges o if it was an insert.
func (g *generator) done(o op) { ackInsert(g.insert, o) }

// done acknowledges o if it was an insert.
func (ks *keySpace) done(o op) { ackInsert(ks.insert, o) }

func ackInsert(s *insertSequence, o op) {
	if o.typ == Insert {
		s.ack(o.num)
	}
}
