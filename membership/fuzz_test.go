package membership_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ringkv/ringkv/membership"
)

// Unmarshal reads states from peers and from disk: whatever it is given, it
// must not panic, must fail only with ErrMalformed or ErrConfigMismatch, and
// must accept only canonical encodings of states every method can handle.
// Seeds: the states below, and testdata/fuzz/FuzzUnmarshal.
func FuzzUnmarshal(f *testing.F) {
	s := must(membership.New(small, "n1", "n2", "n3"))
	f.Add(s.Marshal())
	s = must(s.Join("n4"))
	s = must(s.Leave("n2"))
	tr := s.Transfers()
	s = must(s.TransferDone(tr[0].Partition, tr[0].To))
	f.Add(s.Marshal())
	f.Add(must(membership.Empty(small)).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		s, err := membership.Unmarshal(small, in)
		if err != nil {
			if !errors.Is(err, membership.ErrMalformed) && !errors.Is(err, membership.ErrConfigMismatch) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrConfigMismatch", err)
			}
			return
		}
		clear(in)
		if re := s.Marshal(); !bytes.Equal(re, b) {
			t.Fatalf("decoded %v re-encodes to %x, not %x", s, re, b)
		}
		if m, err := membership.Merge(s, s); err != nil || m.Digest() != s.Digest() {
			t.Fatalf("Merge(s, s) != s for %v: %v", s, err)
		}
		settled := s.Settle()
		_, _ = settled.Members(), settled.Transfers()
		for _, m := range settled.Members() {
			_, _ = settled.Join(m.ID)
			_, _ = settled.Leave(m.ID)
			_, _ = settled.Remove(m.ID)
		}
	})
}
