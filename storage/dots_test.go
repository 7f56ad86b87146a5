package storage

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ringkv/ringkv/vclock"
)

// A dot names one write. These tests hold a replica to that: whatever it
// forgets (a reaped tombstone) or loses (writes not yet synced when it
// crashed), it never numbers two different writes of a key alike. A peer
// that still remembers the first would otherwise take the second for it
// and drop one of them.

// dotBook records the content of every dot it is shown and fails the test
// when one dot turns up with two contents.
type dotBook struct {
	t    *testing.T
	seen map[string]vclock.Sibling
}

func newDotBook(t *testing.T) *dotBook { return &dotBook{t: t, seen: map[string]vclock.Sibling{}} }

func (b *dotBook) record(key string, s vclock.Set) {
	b.t.Helper()
	for _, sib := range s.Siblings {
		id := key + "@" + sib.Dot.String()
		if was, ok := b.seen[id]; ok && !sameSibling(was, sib) {
			b.t.Fatalf("key %s: dot %v names two writes: %q (tombstone %v) and %q (tombstone %v)",
				key, sib.Dot, was.Value, was.Tombstone, sib.Value, sib.Tombstone)
		}
		b.seen[id] = sib
	}
}

func sameSibling(a, b vclock.Sibling) bool {
	return a.Tombstone == b.Tombstone && string(a.Value) == string(b.Value)
}

func openMem(t *testing.T, fs vfs.FS) *Store {
	t.Helper()
	s, err := Open(Options{Dir: "data", FS: fs, Settings: Settings{N: 3, Partitions: 4}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reapKey reaps key, which must be tombstone-only.
func reapKey(t *testing.T, s *Store, key []byte) {
	t.Helper()
	raw, err := s.ReadRaw(key)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Reap(key, digestOf(raw)); !ok || err != nil {
		t.Fatalf("reap %s: %v %v", key, ok, err)
	}
}

// Scenario 1 of the issue: n1 writes k, deletes it and reaps the tombstone
// while n2 still holds it; k re-created through n1 must survive n2's merge,
// and a client context from before the delete must not erase it.
func TestRecreatedKeyAfterReapGetsAFreshDot(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	book := newDotBook(t)
	k := []byte("k")
	first := mustUpdate(t, s, k, vclock.VV{}, "v1", false)
	book.record("k", first)
	tomb := mustUpdate(t, s, k, first.Context(), "", true)
	book.record("k", tomb) // n2 holds this tombstone
	reapKey(t, s, k)

	again := mustUpdate(t, s, k, vclock.VV{}, "v2", false)
	book.record("k", again)
	if merged := vclock.Sync(tomb, again); !hasValue(merged, "v2") {
		t.Fatalf("the re-created value is lost at the replica that kept the tombstone %v: merged %v from %v", tomb, merged, again)
	}
	stale := mustUpdate(t, s, k, first.Context(), "v3", false)
	book.record("k", stale)
	if !hasValue(stale, "v2") || !hasValue(stale, "v3") {
		t.Fatalf("a context read before the delete erased a later write: %v", stale)
	}
}

func mustUpdate(t *testing.T, s *Store, key []byte, ctx vclock.VV, value string, tomb bool) vclock.Set {
	t.Helper()
	set, err := s.Update(key, ctx, []byte(value), tomb, 0)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func hasValue(s vclock.Set, v string) bool {
	for _, x := range s.Values() {
		if string(x) == v {
			return true
		}
	}
	return false
}

// crashStep is one step of a scripted workload on one replica's store.
// A write returns the set it produced (what the coordinator would send to
// the other replicas) before its fsync; a reap returns nothing.
type crashStep struct {
	name string
	run  func(t *testing.T, s *Store, remote map[string]vclock.Set) (key string, set vclock.Set, wait func() error)
}

func writeStep(key, value string, tomb bool) crashStep {
	return crashStep{name: fmt.Sprintf("write %s=%q tomb=%v", key, value, tomb),
		run: func(t *testing.T, s *Store, remote map[string]vclock.Set) (string, vclock.Set, func() error) {
			cur, err := s.Read([]byte(key))
			if err != nil {
				t.Fatal(err)
			}
			set, wait, err := s.UpdateAsync([]byte(key), cur.Context(), []byte(value), tomb, 0)
			if err != nil {
				t.Fatal(err)
			}
			return key, set, wait
		}}
}

func reapStep(key string) crashStep {
	return crashStep{name: "reap " + key,
		run: func(t *testing.T, s *Store, _ map[string]vclock.Set) (string, vclock.Set, func() error) {
			raw, err := s.ReadRaw([]byte(key))
			if err != nil {
				t.Fatal(err)
			}
			if set, err := vclock.Decode(raw); err == nil && raw != nil && TombstoneOnly(set) {
				if _, err := s.Reap([]byte(key), digestOf(raw)); err != nil {
					t.Fatal(err)
				}
			}
			return "", vclock.Set{}, nil
		}}
}

// Scenario 2 of the issue, with a crash at every step: the coordinator's
// write is visible and already at the other replicas ("remote") before its
// own fsync, so a crash then loses it locally but not in the cluster. The
// replica restarts on what was synced and carries on; no dot may ever name
// two writes, and every write the remote replicas took survives merging.
func TestCrashAtEveryStepNeverReusesADot(t *testing.T) {
	script := []crashStep{
		writeStep("a", "a1", false), writeStep("b", "b1", false), writeStep("a", "", true),
		reapStep("a"), writeStep("a", "a2", false), writeStep("b", "b2", false),
		writeStep("b", "", true), reapStep("b"), writeStep("b", "b3", false), writeStep("a", "a3", false),
	}
	for crashAt := range len(script) + 1 {
		for _, unsynced := range []int{0, 50} {
			t.Run(fmt.Sprintf("crash before step %d keeping %d%% unsynced", crashAt, unsynced), func(t *testing.T) {
				runCrashScript(t, script, crashAt, unsynced)
			})
		}
	}
}

func runCrashScript(t *testing.T, script []crashStep, crashAt, unsynced int) {
	book := newDotBook(t)
	remote := map[string]vclock.Set{} // what the other replicas hold
	mem := vfs.NewCrashableMem()
	s := openMem(t, mem)
	var pending []func() error
	for i, step := range script {
		if i == crashAt {
			// Crash with this step's predecessors possibly unsynced.
			mem = mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsynced, RNG: rand.New(rand.NewPCG(uint64(i), 7))})
			finish(t, pending)
			pending = nil
			_ = s.Close()
			s = openMem(t, mem)
		}
		key, set, wait := step.run(t, s, remote)
		if key == "" {
			continue
		}
		book.record(key, set)
		remote[key] = vclock.Sync(remote[key], set)
		book.record(key, remote[key])
		if wait != nil {
			pending = append(pending, wait)
		}
		if i+1 != crashAt { // the step before a crash stays unsynced
			finish(t, pending)
			pending = nil
		}
	}
	finish(t, pending)
	defer s.Close()
	for key, want := range remote {
		got, err := s.Read([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		book.record(key, got)
		merged := vclock.Sync(got, want)
		book.record(key, merged)
		for _, v := range want.Values() {
			if !hasValue(merged, string(v)) {
				t.Fatalf("key %s: %q, held by the other replicas, is lost after merging with the restarted replica: %v", key, v, merged)
			}
		}
	}
}

func finish(t *testing.T, waits []func() error) {
	t.Helper()
	for _, w := range waits {
		if err := w(); err != nil {
			t.Fatal(err)
		}
	}
}

// A merge that meets one dot with two contents is counted: the metric an
// operator watches for writes numbered alike.
func TestMergeCountsDotsWithTwoContents(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	mine := mustUpdate(t, s, []byte("k"), vclock.VV{}, "mine", false)
	forged := vclock.Set{Clock: mine.Clock, Siblings: []vclock.Sibling{{Dot: mine.Siblings[0].Dot, Value: []byte("other")}}}
	if _, err := s.Merge([]byte("k"), mine); err != nil || s.DotConflicts() != 0 {
		t.Fatalf("merging an identical set: err %v, conflicts %d", err, s.DotConflicts())
	}
	if _, err := s.Merge([]byte("k"), forged); err != nil || s.DotConflicts() != 1 {
		t.Fatalf("merging a set with the same dot and other contents: err %v, conflicts %d, want 1", err, s.DotConflicts())
	}
}

// Every opening of a data directory is a new actor: a restarted node, a
// restored backup or a copied directory numbers its writes under an id
// nobody has used.
func TestEachOpenIsANewActor(t *testing.T) {
	mem := vfs.NewMem()
	s := openMem(t, mem)
	first := s.Actor()
	_ = s.Close()
	s = openMem(t, mem)
	defer s.Close()
	if s.Actor() == first || s.Actor() == 0 {
		t.Fatalf("reopened with actor %v, first opening had %v", s.Actor(), first)
	}
}
