package verify

import (
	"fmt"
	"math/rand/v2"
	"sync"
)

// keyspace is a few key slots written at once; each slot moves to a fresh
// key after limit writes, so values stay small and old keys keep what was
// written to them for the final check.
type keyspace struct {
	prefix string
	limit  int

	mu     sync.Mutex
	gens   []int // each slot's current key generation
	counts []int // writes to each slot's current key
}

func newKeyspace(prefix string, slots, limit int) *keyspace {
	return &keyspace{prefix: prefix, limit: limit, gens: make([]int, slots), counts: make([]int, slots)}
}

func (k *keyspace) name(slot, gen int) string { return fmt.Sprintf("%s%d.%d", k.prefix, slot, gen) }

// pick draws a slot and returns its current key.
func (k *keyspace) pick(rng *rand.Rand) (key string, slot, gen int) {
	slot = rng.IntN(len(k.gens))
	k.mu.Lock()
	defer k.mu.Unlock()
	gen = k.gens[slot]
	return k.name(slot, gen), slot, gen
}

// wrote counts a write to a slot's key generation gen, and moves the slot
// on once its key has had limit writes.
func (k *keyspace) wrote(slot, gen int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gens[slot] != gen {
		return
	}
	k.counts[slot]++
	if k.counts[slot] >= k.limit {
		k.gens[slot]++
		k.counts[slot] = 0
	}
}

// keys lists every key the slots have used.
func (k *keyspace) keys() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for slot, last := range k.gens {
		for gen := 0; gen <= last; gen++ {
			out = append(out, k.name(slot, gen))
		}
	}
	return out
}
