package bench

import "context"

// Driver is one store under test. It must be safe for concurrent use: every
// worker calls it at once.
type Driver interface {
	// Get reads key. token is whatever Put needs to overwrite exactly what
	// was read (ringkv's causal context, etcd's mod revision); nil if the
	// store has no such thing.
	Get(ctx context.Context, key []byte) (token []byte, found bool, err error)
	// Put writes value under key. token is nil for a blind write, or what a
	// Get of the same key returned (read-modify-write).
	Put(ctx context.Context, key, value, token []byte) error
	// Close releases the driver's connections.
	Close() error
}

// Inserter is an optional Driver method for INSERT operations (the load
// phase and workload D), for stores where writing a new key differs from
// updating one. Without it an insert is Put with no token.
type Inserter interface {
	Insert(ctx context.Context, key, value []byte) error
}
