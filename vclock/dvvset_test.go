package vclock_test

import (
	"testing"

	"github.com/ringkv/ringkv/vclock"
)

// The claims of the design's "Data model and causality" section, one small
// example each. Replicas A, B and C coordinate; v(...) is a value.

const (
	A vclock.Actor = 0xa
	B vclock.Actor = 0xb
	C vclock.Actor = 0xc
)

var none vclock.VV // the context of a blind write

func put(s vclock.Set, ctx vclock.VV, a vclock.Actor, v string) vclock.Set {
	return vclock.Update(s, ctx, a, []byte(v), false)
}

func del(s vclock.Set, ctx vclock.VV, a vclock.Actor) vclock.Set {
	return vclock.Update(s, ctx, a, nil, true)
}

func TestAWriteThatReadEverySiblingReplacesThemAll(t *testing.T) {
	s := put(vclock.Set{}, none, A, "x")
	s = vclock.Sync(s, put(vclock.Set{}, none, B, "y"))
	requireValues(t, s, "x", "y")
	requireValues(t, put(s, s.Context(), C, "z"), "z")
}

func TestTwoWritesFromTheSameStaleContextBothSurvive(t *testing.T) {
	base := put(vclock.Set{}, none, A, "base")
	stale := base.Context()
	t.Run("same coordinator", func(t *testing.T) {
		s := put(base, stale, A, "one")
		s = put(s, stale, A, "two")
		requireValues(t, s, "one", "two")
	})
	t.Run("different coordinators", func(t *testing.T) {
		onA := put(base, stale, A, "one")
		onB := put(vclock.Sync(vclock.Set{}, base), stale, B, "two")
		requireValues(t, vclock.Sync(onA, onB), "one", "two")
		requireValues(t, vclock.Sync(onB, onA), "one", "two")
	})
}

func TestNoFalseSiblingsWhenEachWriteSawTheLast(t *testing.T) {
	a := put(vclock.Set{}, none, A, "1")
	b := put(vclock.Sync(vclock.Set{}, a), a.Context(), B, "2")
	a = put(vclock.Sync(a, b), b.Context(), A, "3")
	c := put(vclock.Sync(vclock.Set{}, b), a.Context(), C, "4")
	requireValues(t, vclock.Sync(vclock.Sync(a, b), c), "4")
}

func TestABlindWriteKeepsEveryExistingSibling(t *testing.T) {
	s := put(vclock.Set{}, none, A, "x")
	s = put(s, none, A, "y")
	requireValues(t, s, "x", "y")
}

func TestAWriteMintsADotAboveBothTheClockAndTheContext(t *testing.T) {
	s := put(vclock.Set{}, none, A, "x") // A:1
	ctx := vclock.NewVV(vclock.Entry{Actor: A, Counter: 5}, vclock.Entry{Actor: B, Counter: 2})
	s = put(s, ctx, A, "y")
	want := vclock.Dot{Actor: A, Counter: 6}
	if len(s.Siblings) != 1 || s.Siblings[0].Dot != want {
		t.Fatalf("got %v, want the single sibling %v", s, want)
	}
	if !s.Clock.Equal(vclock.NewVV(vclock.Entry{Actor: A, Counter: 6}, vclock.Entry{Actor: B, Counter: 2})) {
		t.Fatalf("clock %v should join the context and advance A", s.Clock)
	}
}

func TestADeleteReadsAsNotFoundButKeepsAContext(t *testing.T) {
	s := put(vclock.Set{}, none, A, "x")
	s = del(s, s.Context(), B)
	if s.Found() || s.Values() != nil || s.IsEmpty() || s.Context().Len() == 0 {
		t.Fatalf("after delete: %v found=%v values=%q empty=%v", s, s.Found(), s.Values(), s.IsEmpty())
	}
	if len(s.Siblings) != 1 || !s.Siblings[0].Tombstone || s.Siblings[0].Value != nil {
		t.Fatalf("want one tombstone, got %v", s)
	}
}

func TestADeleteConcurrentWithAWriteKeepsTheWrite(t *testing.T) {
	base := put(vclock.Set{}, none, A, "x")
	deleted := del(base, base.Context(), A)
	written := put(vclock.Sync(vclock.Set{}, base), base.Context(), B, "y")
	s := vclock.Sync(deleted, written)
	requireValues(t, vclock.Set{Clock: s.Clock, Siblings: s.Siblings[1:]}, "y")
	if !s.Found() || len(s.Siblings) != 2 || !s.Siblings[0].Tombstone {
		t.Fatalf("want a tombstone and y, got %v", s)
	}
	requireValues(t, put(s, s.Context(), C, "z"), "z")
}

func TestADeleteIgnoresAnyValuePassed(t *testing.T) {
	s := vclock.Update(vclock.Set{}, none, A, []byte("ignored"), true)
	if s.Siblings[0].Value != nil || s.Validate() != nil {
		t.Fatalf("tombstone kept a value: %v", s)
	}
}

func TestSyncKeepsWhatTheOtherSideHasNotSeen(t *testing.T) {
	a := put(vclock.Set{}, none, A, "x")
	b := put(vclock.Set{}, none, B, "y")
	requireValues(t, vclock.Sync(a, b), "x", "y")
}

func TestSyncDropsWhatTheOtherSideSuperseded(t *testing.T) {
	old := put(vclock.Set{}, none, A, "old")
	newer := put(old, old.Context(), A, "new")
	requireValues(t, vclock.Sync(old, newer), "new")
	requireValues(t, vclock.Sync(newer, old), "new")
}

func TestTheZeroSetIsAKeyNeverWritten(t *testing.T) {
	var s vclock.Set
	if !s.IsEmpty() || s.Found() || s.Values() != nil || s.Context().Len() != 0 {
		t.Fatalf("zero Set: %v", s)
	}
	if !vclock.Equal(vclock.Sync(s, s), s) {
		t.Fatalf("Sync of empty sets is not empty")
	}
}

func TestUpdateAndSyncLeaveTheirInputsUntouched(t *testing.T) {
	a := put(put(vclock.Set{}, none, A, "x"), none, A, "y")
	b := put(vclock.Set{}, none, B, "z")
	aStr, bStr := a.String(), b.String()
	_ = put(a, a.Context(), B, "w")
	_ = vclock.Sync(a, b)
	_ = vclock.Sync(b, put(b, none, C, "q"))
	if a.String() != aStr || b.String() != bStr {
		t.Fatalf("inputs changed: %v, %v", a, b)
	}
}

func TestUpdateByTheZeroActorPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	put(vclock.Set{}, none, 0, "x")
}

func TestValidateNamesTheBrokenInvariant(t *testing.T) {
	clock := vclock.NewVV(vclock.Entry{Actor: A, Counter: 2})
	sib := func(c uint64) vclock.Sibling { return vclock.Sibling{Dot: vclock.Dot{Actor: A, Counter: c}} }
	for name, s := range map[string]vclock.Set{
		"zero counter":  {Clock: clock, Siblings: []vclock.Sibling{sib(0)}},
		"out of order":  {Clock: clock, Siblings: []vclock.Sibling{sib(2), sib(1)}},
		"repeated dot":  {Clock: clock, Siblings: []vclock.Sibling{sib(1), sib(1)}},
		"not covered":   {Clock: clock, Siblings: []vclock.Sibling{sib(3)}},
		"tombstone+val": {Clock: clock, Siblings: []vclock.Sibling{{Dot: sib(1).Dot, Tombstone: true, Value: []byte("x")}}},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %v", name, s)
		}
	}
}

func TestSetString(t *testing.T) {
	s := del(put(vclock.Set{}, none, A, "x"), none, B)
	if got, want := s.String(), `{a:1, b:1} [a:1="x" b:1=<tombstone>]`; got != want {
		t.Fatalf("String() = %s, want %s", got, want)
	}
}
