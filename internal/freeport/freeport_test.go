package freeport

import (
	"fmt"
	"net"
	"testing"
)

func TestBaseIsBelowTheEphemeralRangeAndFree(t *testing.T) {
	for range 20 {
		base, err := Base(0, 3, 100)
		if err != nil {
			t.Fatal(err)
		}
		if base < low || base+100 >= high {
			t.Fatalf("base %d: offsets reach outside %d..%d", base, low, high-1)
		}
		for _, off := range []int{0, 3, 100} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
			if err != nil {
				t.Fatalf("port %d from Base is not free: %v", base+off, err)
			}
			l.Close()
		}
	}
}

func TestHeldPortsAreNotFree(t *testing.T) {
	base, err := Base(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+1))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", base))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if allFree(base, []int{1}) {
		t.Errorf("port %d held for TCP counts as free", base+1)
	}
	if allFree(base, []int{0}) {
		t.Errorf("port %d held for UDP counts as free", base)
	}
}

func TestBaseRefusesOffsetsOutOfRange(t *testing.T) {
	for _, off := range []int{-1, 1001} {
		if _, err := Base(off); err == nil {
			t.Errorf("Base(%d) succeeded", off)
		}
	}
}
