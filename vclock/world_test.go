package vclock_test

import (
	"math"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/vclock"
)

// world simulates the replicas of one key the way the cluster drives them:
// clients read a replica (or a merge of two), then write back through some
// coordinator with that context, a stale one, or none; replicas sync with
// each other's current or old versions (late hints, slow read repair). The
// Sets it produces satisfy the causal invariants because real operations
// made them, not because a generator promised to.
type world struct {
	actors   []vclock.Actor
	replicas []vclock.Set   // current state of replica i, whose actor is actors[i]
	history  [][]vclock.Set // every state replica i has been in, oldest first
	contexts []vclock.VV    // every context a client has read
	writes   []write        // every write, in order
}

// write records what a client asked for and the dot its coordinator minted.
type write struct {
	dot       vclock.Dot
	ctx       vclock.VV
	value     []byte
	tombstone bool
}

// genWorld runs a random history over 1 to 4 replicas.
func genWorld(t *rapid.T) *world { return genWorldN(t, 1) }

// genWorldN runs a random history over at least minReplicas replicas.
func genWorldN(t *rapid.T, minReplicas int) *world {
	n := rapid.IntRange(minReplicas, 4).Draw(t, "replicas")
	ids := rapid.SliceOfNDistinct(rapid.Uint64Range(1, math.MaxUint64), n, n, rapid.ID).Draw(t, "actors")
	w := &world{replicas: make([]vclock.Set, n), history: make([][]vclock.Set, n)}
	for i, id := range ids {
		w.actors = append(w.actors, vclock.Actor(id))
		w.history[i] = []vclock.Set{{}}
	}
	for range rapid.IntRange(0, 25).Draw(t, "steps") {
		w.step(t)
	}
	return w
}

func (w *world) step(t *rapid.T) {
	switch rapid.IntRange(0, 9).Draw(t, "op") {
	case 0, 1, 2, 3, 4, 5:
		w.write(t, w.replica(t, "coordinator"), w.drawContext(t))
	case 6, 7, 8:
		i := w.replica(t, "to")
		w.set(i, vclock.Sync(w.replicas[i], w.replicas[w.replica(t, "from")]))
	default:
		i := w.replica(t, "to")
		w.set(i, vclock.Sync(w.replicas[i], w.oldState(t)))
	}
}

func (w *world) replica(t *rapid.T, label string) int {
	return rapid.IntRange(0, len(w.actors)-1).Draw(t, label)
}

// write has replica i coordinate a client write with context ctx.
func (w *world) write(t *rapid.T, i int, ctx vclock.VV) vclock.Set {
	value := rapid.SliceOfN(rapid.Byte(), 0, 6).Draw(t, "value")
	tombstone := rapid.IntRange(0, 4).Draw(t, "delete?") == 0
	s := vclock.Update(w.replicas[i], ctx, w.actors[i], value, tombstone)
	dot := vclock.Dot{Actor: w.actors[i], Counter: s.Clock.Get(w.actors[i])}
	if tombstone {
		value = nil
	}
	w.writes = append(w.writes, write{dot: dot, ctx: ctx, value: value, tombstone: tombstone})
	w.set(i, s)
	return s
}

func (w *world) set(i int, s vclock.Set) {
	w.replicas[i] = s
	w.history[i] = append(w.history[i], s)
}

// drawContext is what a client sends with a write: nothing (blind), what it
// just read from one replica or a merge of two, or a context it read earlier.
func (w *world) drawContext(t *rapid.T) vclock.VV {
	switch rapid.IntRange(0, 3).Draw(t, "context") {
	case 0:
		return vclock.VV{}
	case 1:
		return w.read(w.replicas[w.replica(t, "read")])
	case 2:
		return w.read(vclock.Sync(w.replicas[w.replica(t, "read")], w.replicas[w.replica(t, "read")]))
	}
	if len(w.contexts) == 0 {
		return vclock.VV{}
	}
	return rapid.SampledFrom(w.contexts).Draw(t, "stale context")
}

func (w *world) read(s vclock.Set) vclock.VV {
	w.contexts = append(w.contexts, s.Context())
	return s.Context()
}

// oldState draws any state any replica has ever been in.
func (w *world) oldState(t *rapid.T) vclock.Set {
	h := w.history[w.replica(t, "of replica")]
	return h[rapid.IntRange(0, len(h)-1).Draw(t, "version")]
}

// merged is what the replicas converge to once every pair has synced.
func (w *world) merged() vclock.Set {
	var s vclock.Set
	for _, r := range w.replicas {
		s = vclock.Sync(s, r)
	}
	return s
}
