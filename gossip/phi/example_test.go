package phi_test

import (
	"fmt"
	"time"

	"github.com/ringkv/ringkv/gossip/phi"
)

func Example() {
	d := phi.New(phi.Config{}) // defaults: tuned for 1 s heartbeats
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 30 {
		d.Heartbeat(now)
		now = now.Add(time.Second)
	}
	last := now.Add(-time.Second)
	for _, silence := range []time.Duration{time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second} {
		fmt.Printf("%v after the last heartbeat: phi %.2f\n", silence, d.Phi(last.Add(silence)))
	}
	// Output:
	// 1s after the last heartbeat: phi 0.00
	// 3s after the last heartbeat: phi 0.30
	// 4s after the last heartbeat: phi 7.30
	// 5s after the last heartbeat: phi 37.58
}
