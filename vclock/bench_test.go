package vclock_test

import (
	"bytes"
	"testing"

	"github.com/ringkv/ringkv/vclock"
)

// Realistic shapes: three replicas of a key, 100-byte values.

var value100 = bytes.Repeat([]byte("v"), 100)

// diverged returns two replicas' versions after concurrent writes from a
// shared stale context: a holds one sibling and b two, and neither clock
// descends the other, so Sync does real work.
func diverged() (a, b vclock.Set) {
	base := vclock.Update(vclock.Set{}, vclock.VV{}, A, value100, false)
	base = vclock.Sync(base, vclock.Update(vclock.Sync(vclock.Set{}, base), base.Context(), C, value100, false))
	stale := base.Context()
	a = vclock.Update(base, stale, A, value100, false)
	b = vclock.Update(base, vclock.VV{}, B, value100, false)
	b = vclock.Update(b, b.Context(), B, value100, false)
	b = vclock.Update(b, stale, B, value100, false)
	return a, b
}

func BenchmarkSync(b *testing.B) {
	x, y := diverged()
	b.Run("diverged", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			vclock.Sync(x, y)
		}
	})
	b.Run("agreeing", func(b *testing.B) {
		y := vclock.Sync(vclock.Set{}, x)
		b.ReportAllocs()
		for b.Loop() {
			vclock.Sync(x, y)
		}
	})
}

func BenchmarkUpdate(b *testing.B) {
	x, y := diverged()
	s := vclock.Sync(x, y)
	b.Run("read-modify-write", func(b *testing.B) {
		ctx := s.Context()
		b.ReportAllocs()
		for b.Loop() {
			vclock.Update(s, ctx, A, value100, false)
		}
	})
	b.Run("blind", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			vclock.Update(s, vclock.VV{}, A, value100, false)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	x, y := diverged()
	s := vclock.Sync(x, y)
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(s.Encode())))
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendEncode(buf[:0])
	}
}

func BenchmarkDecode(b *testing.B) {
	x, y := diverged()
	enc := vclock.Sync(x, y).Encode()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vclock.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDigest(b *testing.B) {
	x, y := diverged()
	s := vclock.Sync(x, y)
	b.SetBytes(int64(len(s.Encode())))
	b.ReportAllocs()
	for b.Loop() {
		s.Digest()
	}
}
