// Package freeport finds loopback ports for servers that must be named
// before they start: a dev cluster's fixed ports, a seed that a test names
// before it runs.
//
// It picks from 10000–32767, below Linux's default ephemeral range
// (32768–60999): ports the kernel hands out for ":0" listeners and for
// outgoing connections never come from there, so a port found free stays
// free unless another user of this package picks the same one at the same
// moment.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
)

const (
	low  = 10000
	high = 32768 // first ephemeral port
)

// Base returns a port p such that 127.0.0.1:p+off is free for both TCP and
// UDP for every off in offsets (each in 0..1000).
func Base(offsets ...int) (int, error) {
	span := 0
	for _, off := range offsets {
		if off < 0 || off > 1000 {
			return 0, fmt.Errorf("freeport: offset %d outside 0..1000", off)
		}
		span = max(span, off+1)
	}
	for range 100 {
		base := low + rand.IntN(high-low-span)
		if allFree(base, offsets) {
			return base, nil
		}
	}
	return 0, errors.New("freeport: no free loopback ports found in 100 tries")
}

func allFree(base int, offsets []int) bool {
	for _, off := range offsets {
		addr := fmt.Sprintf("127.0.0.1:%d", base+off)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		l.Close()
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		u.Close()
	}
	return true
}
