package ring

import (
	"encoding/binary"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// token is one vnode: a point on the hash circle and the index (into the
// sorted member list) of the node that placed it.
type token struct {
	hash  uint64
	owner int32
}

// TokenHash returns the position of token i of node id: xxhash.Sum64 of the
// id's bytes followed by i as 8 big-endian bytes. The fixed-width suffix
// makes (id, i) → bytes one-to-one, and the scheme uses nothing but the id,
// so every node derives the same tokens.
func TokenHash(id string, i int) uint64 {
	buf := make([]byte, len(id)+8)
	copy(buf, id)
	binary.BigEndian.PutUint64(buf[len(id):], uint64(i))
	return xxhash.Sum64(buf)
}

// placeTokens returns the v tokens of every member in clockwise order. Equal
// hashes (vanishingly rare) are ordered by owner index, which is the order of
// the ids themselves, so ties break the same way on every node and the
// relative order of two members' tokens does not depend on who else is in
// the ring.
func placeTokens(ids []string, v int) []token {
	toks := make([]token, 0, len(ids)*v)
	var buf []byte
	for o, id := range ids {
		buf = append(buf[:0], id...)
		buf = append(buf, make([]byte, 8)...)
		for i := range v {
			binary.BigEndian.PutUint64(buf[len(id):], uint64(i))
			toks = append(toks, token{hash: xxhash.Sum64(buf), owner: int32(o)})
		}
	}
	slices.SortFunc(toks, func(a, b token) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return int(a.owner) - int(b.owner)
	})
	return toks
}
