package vclock_test

import (
	"cmp"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/vclock"
)

// genVV draws vectors over a handful of actors so that they overlap, plus the
// occasional large actor.
func genVV() *rapid.Generator[vclock.VV] {
	actor := rapid.OneOf(rapid.Uint64Range(1, 5), rapid.Uint64Min(1))
	entry := rapid.Custom(func(t *rapid.T) vclock.Entry {
		return vclock.Entry{Actor: vclock.Actor(actor.Draw(t, "actor")), Counter: rapid.Uint64Range(0, 6).Draw(t, "counter")}
	})
	return rapid.Map(rapid.SliceOfN(entry, 0, 6), func(es []vclock.Entry) vclock.VV { return vclock.NewVV(es...) })
}

func TestPropertyJoinIsASemilattice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := genVV().Draw(t, "a"), genVV().Draw(t, "b"), genVV().Draw(t, "c")
		requireVV(t, "commutative", a.Join(b), b.Join(a))
		requireVV(t, "associative", a.Join(b.Join(c)), a.Join(b).Join(c))
		requireVV(t, "idempotent", a.Join(a), a)
		requireVV(t, "empty is the identity", a.Join(vclock.VV{}), a)
	})
}

func TestPropertyJoinIsTheLeastUpperBound(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genVV().Draw(t, "a"), genVV().Draw(t, "b")
		j := a.Join(b)
		if !j.Descends(a) || !j.Descends(b) {
			t.Fatalf("%v does not descend both %v and %v", j, a, b)
		}
		for _, e := range j.Entries() {
			if e.Counter != max(a.Get(e.Actor), b.Get(e.Actor)) {
				t.Fatalf("%v: entry %v is not the max of %v and %v", j, e, a, b)
			}
		}
		if a.Descends(b) != j.Equal(a) {
			t.Fatalf("%v.Descends(%v) = %v, but join is %v", a, b, a.Descends(b), j)
		}
	})
}

// NewVV against a map: the obvious model of a version vector.
func TestPropertyNewVVNormalises(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) vclock.Entry {
			return vclock.Entry{Actor: vclock.Actor(rapid.Uint64Range(0, 5).Draw(t, "actor")), Counter: rapid.Uint64Range(0, 4).Draw(t, "counter")}
		}), 0, 8).Draw(t, "entries")
		model := map[vclock.Actor]uint64{}
		for _, e := range in {
			if e.Actor != 0 && e.Counter != 0 {
				model[e.Actor] = max(model[e.Actor], e.Counter)
			}
		}
		v := vclock.NewVV(in...)
		if v.Len() != len(model) || !slices.IsSortedFunc(v.Entries(), func(x, y vclock.Entry) int { return cmp.Compare(x.Actor, y.Actor) }) {
			t.Fatalf("NewVV(%v) = %v, want %v", in, v, model)
		}
		for a, c := range model {
			if v.Get(a) != c || !v.Covers(vclock.Dot{Actor: a, Counter: c}) || v.Covers(vclock.Dot{Actor: a, Counter: c + 1}) {
				t.Fatalf("NewVV(%v) = %v, want %v", in, v, model)
			}
		}
	})
}

func TestPropertyVVEncodingRoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := genVV().Draw(t, "v")
		got, err := vclock.DecodeVV(v.Encode())
		if err != nil || !got.Equal(v) {
			t.Fatalf("DecodeVV(Encode(%v)) = %v, %v", v, got, err)
		}
		if buf := v.AppendEncode([]byte("prefix")); string(buf[6:]) != string(v.Encode()) {
			t.Fatalf("AppendEncode disagrees with Encode")
		}
	})
}

func requireVV(t *rapid.T, law string, got, want vclock.VV) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s: got %v, want %v", law, got, want)
	}
}

func TestNewVVDropsZerosAndKeepsTheLargestDuplicate(t *testing.T) {
	v := vclock.NewVV(vclock.Entry{Actor: 2, Counter: 1}, vclock.Entry{Actor: 0, Counter: 9},
		vclock.Entry{Actor: 1, Counter: 0}, vclock.Entry{Actor: 2, Counter: 3}, vclock.Entry{Actor: 1, Counter: 2})
	want := []vclock.Entry{{Actor: 1, Counter: 2}, {Actor: 2, Counter: 3}}
	if got := v.Entries(); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestEntriesIsACopy(t *testing.T) {
	v := vclock.NewVV(vclock.Entry{Actor: 1, Counter: 2})
	v.Entries()[0].Counter = 99
	if v.Get(1) != 2 {
		t.Fatalf("modifying Entries() changed the vector: %v", v)
	}
}

func TestZeroVVIsEmpty(t *testing.T) {
	var v vclock.VV
	if v.Len() != 0 || v.Get(7) != 0 || !v.Covers(vclock.Dot{Actor: 7}) || v.Covers(vclock.Dot{Actor: 7, Counter: 1}) {
		t.Fatalf("zero VV misbehaves: %v", v)
	}
	if !v.Equal(vclock.NewVV()) || v.String() != "{}" {
		t.Fatalf("zero VV = %v, want {}", v)
	}
}

func TestVVString(t *testing.T) {
	v := vclock.NewVV(vclock.Entry{Actor: 0x91bc, Counter: 2}, vclock.Entry{Actor: 0x3f2a91c0d4e5b6a7, Counter: 4})
	if got, want := v.String(), "{91bc:2, 3f2a91c0d4e5b6a7:4}"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
