package ring_test

import (
	"fmt"

	"github.com/ringkv/ringkv/ring"
)

func Example() {
	r, err := ring.New(ring.Config{}, []string{"n3", "n1", "n2", "n4", "n5"})
	if err != nil {
		panic(err)
	}
	p := r.PartitionOf(ring.KeyHash([]byte("cart:42")))
	fmt.Println("partition", p)
	replicas := r.Preference(p)
	fmt.Println("replicas", replicas)
	fmt.Println("fallbacks", r.Walk(p)[len(replicas):])
	// Output:
	// partition 218
	// replicas [n2 n3 n1]
	// fallbacks [n5 n4]
}
