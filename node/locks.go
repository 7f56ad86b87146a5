package node

import (
	"sync"

	"github.com/cespare/xxhash/v2"
)

// keyLocks serialises read-modify-writes of one key without a map: keys
// hash onto a fixed array of mutexes, so memory is bounded and two keys
// rarely share a stripe.
type keyLocks struct {
	stripes [1024]sync.Mutex
}

func (l *keyLocks) lock(key []byte) (unlock func()) {
	m := &l.stripes[xxhash.Sum64(key)%uint64(len(l.stripes))]
	m.Lock()
	return m.Unlock
}
