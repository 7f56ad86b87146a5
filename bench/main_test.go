package bench_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Run owns every goroutine it starts: none outlive it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
