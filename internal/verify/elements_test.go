package verify

import (
	"errors"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func TestPropertySetsRoundTripAndSiblingsUnion(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.SliceOf(rapid.Uint64Min(1)).Draw(t, "a")
		b := rapid.SliceOf(rapid.Uint64Min(1)).Draw(t, "b")
		got, err := unionOf([][]byte{encodeSet(a), encodeSet(b)})
		if err != nil {
			t.Fatal(err)
		}
		want := append(slices.Clone(a), b...)
		slices.Sort(want)
		if want = slices.Compact(want); !slices.Equal(got, want) && len(want)+len(got) > 0 {
			t.Fatalf("union %v, want %v", got, want)
		}
	})
}

func TestAValueTheWorkloadDidNotWriteIsRefused(t *testing.T) {
	if _, err := decodeSet([]byte("1,x")); !errors.Is(err, ErrBadValue) {
		t.Fatalf("decode 1,x: %v, want ErrBadValue", err)
	}
}
