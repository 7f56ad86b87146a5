package verify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A value is a set of elements written as decimal numbers separated by
// commas: readable with `ringkv get`, and small (at most a key's element
// limit of them).

// encodeSet writes elems as a value.
func encodeSet(elems []uint64) []byte {
	var b strings.Builder
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(e, 10))
	}
	return []byte(b.String())
}

// decodeSet reads a value written by encodeSet.
func decodeSet(v []byte) ([]uint64, error) {
	if len(v) == 0 {
		return nil, nil
	}
	parts := strings.Split(string(v), ",")
	out := make([]uint64, 0, len(parts))
	for _, p := range parts {
		e, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %q", ErrBadValue, v)
		}
		out = append(out, e)
	}
	return out, nil
}

// unionOf is the sorted union of the elements in every sibling.
func unionOf(values [][]byte) ([]uint64, error) {
	var all []uint64
	for _, v := range values {
		elems, err := decodeSet(v)
		if err != nil {
			return nil, err
		}
		all = append(all, elems...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

// element numbers writer w's seq-th element: unique in a run, never 0,
// and readable: writer 7's 123rd element is 7000000123.
func element(writer int, seq uint64) uint64 { return uint64(writer)*1_000_000_000 + seq }
