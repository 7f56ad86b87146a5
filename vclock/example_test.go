package vclock_test

import (
	"fmt"

	"github.com/ringkv/ringkv/vclock"
)

// Two clients read the same version and write concurrently through different
// replicas; after the replicas sync, both values are kept as siblings. A
// third client reads both and resolves them with one write.
func Example() {
	const a, b vclock.Actor = 1, 2
	var replicaA, replicaB vclock.Set

	replicaA = vclock.Update(replicaA, vclock.VV{}, a, []byte("draft"), false)
	replicaB = vclock.Sync(replicaB, replicaA)
	ctx := replicaA.Context() // both clients read "draft"

	replicaA = vclock.Update(replicaA, ctx, a, []byte("red"), false)
	replicaB = vclock.Update(replicaB, ctx, b, []byte("blue"), false)
	merged := vclock.Sync(replicaA, replicaB)
	fmt.Printf("%q\n", merged.Values())

	resolved := vclock.Update(merged, merged.Context(), a, []byte("purple"), false)
	fmt.Printf("%q\n", vclock.Sync(resolved, replicaB).Values())
	// Output:
	// ["red" "blue"]
	// ["purple"]
}
