package vclock_test

import (
	"bytes"
	"hash/fnv"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/vclock"
)

// Properties of Sets produced by simulated histories (see world). States are
// drawn from everything any replica has ever held, since any old version can
// meet any new one through a late hint or a slow read repair.

// fataler is what both *testing.T and *rapid.T offer, so helpers serve both.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func anyState(t *rapid.T, w *world) vclock.Set { return w.oldState(t) }

func requireEqual(t fataler, what string, got, want vclock.Set) {
	t.Helper()
	if !vclock.Equal(got, want) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func TestPropertySyncIsCommutative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		a, b := anyState(t, w), anyState(t, w)
		requireEqual(t, "Sync(b, a)", vclock.Sync(b, a), vclock.Sync(a, b))
	})
}

func TestPropertySyncIsAssociative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		a, b, c := anyState(t, w), anyState(t, w), anyState(t, w)
		requireEqual(t, "Sync(a, Sync(b, c))", vclock.Sync(a, vclock.Sync(b, c)), vclock.Sync(vclock.Sync(a, b), c))
	})
}

func TestPropertySyncIsIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		a, b := anyState(t, w), anyState(t, w)
		requireEqual(t, "Sync(a, a)", vclock.Sync(a, a), a)
		ab := vclock.Sync(a, b)
		requireEqual(t, "Sync(Sync(a, b), b)", vclock.Sync(ab, b), ab)
		requireEqual(t, "Sync(Sync(a, b), a)", vclock.Sync(ab, a), ab)
	})
}

func TestPropertyEveryReachableSetIsValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		a, b := anyState(t, w), anyState(t, w)
		for _, s := range []vclock.Set{a, b, vclock.Sync(a, b)} {
			if err := s.Validate(); err != nil {
				t.Fatalf("%v: %v", s, err)
			}
		}
	})
}

// Replaying an old version of a replica to it changes nothing, which is what
// makes late hints and duplicate deliveries harmless.
func TestPropertyAnOldVersionSyncedIntoItsDescendantIsANoOp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		i := w.replica(t, "replica")
		old := rapid.SampledFrom(w.history[i]).Draw(t, "old version")
		requireEqual(t, "Sync(current, old)", vclock.Sync(w.replicas[i], old), w.replicas[i])
	})
}

// The oracle from the design: once replicas converge, a write's value is
// present exactly when no later write's context had seen it.
func TestPropertyNoAcknowledgedWriteIsLost(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		got := w.merged()
		var want []vclock.Sibling
		var dots []vclock.Entry
		for _, wr := range w.writes {
			dots = append(dots, vclock.Entry(wr.dot))
			if !w.supersededByLaterWrite(wr.dot) {
				want = append(want, vclock.Sibling{Dot: wr.dot, Value: wr.value, Tombstone: wr.tombstone})
			}
		}
		sortSiblings(want)
		requireEqual(t, "converged state", got, vclock.Set{Clock: vclock.NewVV(dots...), Siblings: want})
	})
}

func sortSiblings(sibs []vclock.Sibling) {
	slices.SortFunc(sibs, func(x, y vclock.Sibling) int { return x.Dot.Compare(y.Dot) })
}

func (w *world) supersededByLaterWrite(d vclock.Dot) bool {
	for _, wr := range w.writes {
		if wr.ctx.Covers(d) {
			return true
		}
	}
	return false
}

func TestPropertyAWriteThatReadEverythingLeavesOneValue(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		c := w.replica(t, "coordinator")
		s := vclock.Update(w.replicas[c], w.replicas[c].Context(), w.actors[c], []byte("new"), false)
		requireValues(t, s, "new")
		// A read that merged the coordinator with another replica: once the
		// versions meet, only the new value is left. (A read that missed the
		// coordinator may not have seen all it holds; those siblings stay.)
		read := vclock.Sync(w.replicas[c], w.replicas[w.replica(t, "read")])
		s = vclock.Update(w.replicas[c], read.Context(), w.actors[c], []byte("newer"), false)
		requireValues(t, vclock.Sync(s, read), "newer")
		all := w.merged()
		s = vclock.Update(w.replicas[c], all.Context(), w.actors[c], []byte("newest"), false)
		requireValues(t, vclock.Sync(s, all), "newest")
	})
}

func TestPropertyTwoWritesFromOneStaleContextBothSurvive(t *testing.T) {
	t.Run("same coordinator", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			w := genWorld(t)
			ctx := w.read(w.replicas[w.replica(t, "read")])
			c := w.replica(t, "coordinator")
			first := w.writeValue(c, ctx, "first")
			second := w.writeValue(c, ctx, "second")
			requireHolds(t, w.replicas[c], first, second)
		})
	})
	t.Run("different coordinators", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			w := genWorldN(t, 2)
			ctx := w.read(w.replicas[w.replica(t, "read")])
			c1 := w.replica(t, "first coordinator")
			c2 := (c1 + rapid.IntRange(1, len(w.actors)-1).Draw(t, "offset")) % len(w.actors)
			first := w.writeValue(c1, ctx, "first")
			second := w.writeValue(c2, ctx, "second")
			requireHolds(t, vclock.Sync(w.replicas[c1], w.replicas[c2]), first, second)
			requireHolds(t, w.merged(), first, second)
		})
	})
}

// writeValue has replica i coordinate a write of v and returns the sibling
// it created.
func (w *world) writeValue(i int, ctx vclock.VV, v string) vclock.Sibling {
	s := vclock.Update(w.replicas[i], ctx, w.actors[i], []byte(v), false)
	w.set(i, s)
	return vclock.Sibling{Dot: vclock.Dot{Actor: w.actors[i], Counter: s.Clock.Get(w.actors[i])}, Value: []byte(v)}
}

func TestPropertyABlindWriteNeverRemovesASibling(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		s := anyState(t, w)
		a := rapid.SampledFrom(w.actors).Draw(t, "coordinator")
		after := vclock.Update(s, vclock.VV{}, a, []byte("blind"), false)
		requireHolds(t, after, s.Siblings...)
		if len(after.Siblings) != len(s.Siblings)+1 {
			t.Fatalf("blind write on %v gave %v, want one more sibling", s, after)
		}
	})
}

func TestPropertyEncodingRoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := anyState(t, genWorld(t))
		got, err := vclock.Decode(s.Encode())
		if err != nil {
			t.Fatalf("Decode(Encode(%v)): %v", s, err)
		}
		requireEqual(t, "Decode(Encode(s))", got, s)
		v, err := vclock.DecodeVV(s.Context().Encode())
		if err != nil || !v.Equal(s.Context()) {
			t.Fatalf("DecodeVV(Encode(%v)) = %v, %v", s.Context(), v, err)
		}
	})
}

func TestPropertyDigestsMatchExactlyWhenSetsAreEqual(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld(t)
		a, b := anyState(t, w), anyState(t, w)
		if eq, same := vclock.Equal(a, b), a.Digest() == b.Digest(); eq != same {
			t.Fatalf("Equal = %v but equal digests = %v for\n%v\n%v", eq, same, a, b)
		}
	})
}

func TestPropertyDigestIsFNV1aOfTheEncoding(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := anyState(t, genWorld(t))
		h := fnv.New64a()
		h.Write(s.Encode())
		if s.Digest() != h.Sum64() || vclock.DigestEncoding(s.Encode()) != h.Sum64() {
			t.Fatalf("Digest %x, DigestEncoding %x, FNV-1a of encoding %x", s.Digest(), vclock.DigestEncoding(s.Encode()), h.Sum64())
		}
	})
}

func requireValues(t fataler, s vclock.Set, want ...string) {
	t.Helper()
	got := s.Values()
	if len(s.Siblings) != len(want) || len(got) != len(want) {
		t.Fatalf("%v: want exactly the values %q", s, want)
	}
	for i := range want {
		if !bytes.Equal(got[i], []byte(want[i])) {
			t.Fatalf("%v: want exactly the values %q", s, want)
		}
	}
}

// requireHolds checks that s holds each of sibs, dot and content.
func requireHolds(t fataler, s vclock.Set, sibs ...vclock.Sibling) {
	t.Helper()
	for _, want := range sibs {
		if !holds(s, want) {
			t.Fatalf("%v lost sibling %v", s, want.Dot)
		}
	}
}

func holds(s vclock.Set, want vclock.Sibling) bool {
	for _, got := range s.Siblings {
		if got.Dot == want.Dot {
			return got.Tombstone == want.Tombstone && bytes.Equal(got.Value, want.Value)
		}
	}
	return false
}
