package vclock_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ringkv/ringkv/vclock"
)

// Decode reads bytes from disk and from peers: whatever it is given, it must
// not panic, must fail only with ErrMalformed, and must accept only canonical
// encodings of valid Sets. Seeds live in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b) // decode a copy we then clobber, to prove nothing aliases it
		s, err := vclock.Decode(in)
		if err != nil {
			if !errors.Is(err, vclock.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		clear(in)
		if re := s.Encode(); !bytes.Equal(re, b) {
			t.Fatalf("decoded %v re-encodes to %x, not %x", s, re, b)
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded an invalid set %v: %v", s, err)
		}
		if s.Digest() != vclock.DigestEncoding(b) {
			t.Fatalf("Digest %x != DigestEncoding %x", s.Digest(), vclock.DigestEncoding(b))
		}
		if !vclock.Equal(vclock.Sync(s, s), s) {
			t.Fatalf("Sync(s, s) != s for %v", s)
		}
	})
}

// DecodeVV reads contexts from clients: the same rules as Decode.
func FuzzDecodeVV(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := vclock.DecodeVV(b)
		if err != nil {
			if !errors.Is(err, vclock.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if re := v.Encode(); !bytes.Equal(re, b) {
			t.Fatalf("decoded %v re-encodes to %x, not %x", v, re, b)
		}
		if !v.Join(v).Equal(v) || !v.Descends(v) {
			t.Fatalf("%v is not a well-formed vector", v)
		}
	})
}

// FuzzSync checks the Sync laws on any three decodable Sets, including ones
// no real history produces (for example two different writes under one dot),
// so corrupt or forged input cannot make replicas diverge.
func FuzzSync(f *testing.F) {
	x := put(vclock.Set{}, none, A, "x")
	y := put(vclock.Sync(vclock.Set{}, x), none, B, "y")
	z := put(x, x.Context(), A, "z")
	forged := put(vclock.Set{}, none, A, "not x")
	f.Add(x.Encode(), y.Encode(), z.Encode())
	f.Add(forged.Encode(), x.Encode(), y.Encode())
	f.Fuzz(func(t *testing.T, ab, bb, cb []byte) {
		a, errA := vclock.Decode(ab)
		b, errB := vclock.Decode(bb)
		c, errC := vclock.Decode(cb)
		if errA != nil || errB != nil || errC != nil {
			return
		}
		requireEqual(t, "commutative", vclock.Sync(b, a), vclock.Sync(a, b))
		requireEqual(t, "associative", vclock.Sync(a, vclock.Sync(b, c)), vclock.Sync(vclock.Sync(a, b), c))
		requireEqual(t, "idempotent", vclock.Sync(vclock.Sync(a, b), b), vclock.Sync(a, b))
		if err := vclock.Sync(a, b).Validate(); err != nil {
			t.Fatalf("Sync made an invalid set: %v", err)
		}
	})
}
