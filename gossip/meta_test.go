package gossip

import (
	"errors"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []meta{
		{},
		{ID: "n1", RPCAddr: "10.0.0.1:8080", Settings: Settings{N: 3, Partitions: 256}, Boot: 42, Ring: 1 << 63},
		{ID: "ünïcode", RPCAddr: "[::1]:1", Settings: Settings{N: 1 << 20, Partitions: 1}, Boot: ^uint64(0), Leaving: true},
	} {
		got, err := decodeMeta(m.encode())
		if err != nil || got != m {
			t.Errorf("decode(encode(%+v)) = %+v, %v", m, got, err)
		}
	}
}

func TestMetaAcceptsAppendedFields(t *testing.T) {
	m := meta{ID: "n1", RPCAddr: "a:1", Settings: Settings{N: 3, Partitions: 8}, Boot: 7}
	got, err := decodeMeta(append(m.encode(), "a later field"...))
	if err != nil || got != m {
		t.Fatalf("decode with trailing bytes = %+v, %v", got, err)
	}
}

func TestMetaRejectsMalformed(t *testing.T) {
	good := meta{ID: "n1", RPCAddr: "a:1", Settings: Settings{N: 3, Partitions: 8}, Boot: 7}.encode()
	for name, b := range map[string][]byte{
		"empty":       nil,
		"one byte":    {metaVersion},
		"version":     append([]byte{2}, good[1:]...),
		"truncated":   good[:len(good)-1],
		"huge string": {metaVersion, 0, 3, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0x03},
		"huge N":      {metaVersion, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		if _, err := decodeMeta(b); !errors.Is(err, errMalformed) {
			t.Errorf("%s: err = %v, want errMalformed", name, err)
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add(meta{ID: "n1", RPCAddr: "10.0.0.1:8080", Settings: Settings{N: 3, Partitions: 256}, Boot: 9, Leaving: true}.encode())
	f.Add([]byte{})
	f.Add([]byte{metaVersion, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		again, err := decodeMeta(m.encode())
		if err != nil || again != m {
			t.Fatalf("re-encoding %+v gives %+v, %v", m, again, err)
		}
	})
}

// Meta from a node that predates the ring digest decodes with digest 0.
func TestMetaWithoutRingDigest(t *testing.T) {
	m := meta{ID: "n1", RPCAddr: "a:1", Settings: Settings{N: 3, Partitions: 8}, Boot: 7, Ring: 99}
	b := m.encode()
	got, err := decodeMeta(b[:len(b)-8])
	m.Ring = 0
	if err != nil || got != m {
		t.Fatalf("decode without digest = %+v, %v; want %+v", got, err, m)
	}
}
