package verify

import "errors"

var (
	// ErrBadValue is a value the workload did not write.
	ErrBadValue = errors.New("verify: value is not a set of elements")
	// ErrUnsupported is a fault the cluster cannot inject.
	ErrUnsupported = errors.New("verify: fault not supported by this cluster")
	// ErrBadOptions is a run that cannot start as asked.
	ErrBadOptions = errors.New("verify: bad options")
	// ErrFailed is a run whose check found lost, resurrected or diverging data.
	ErrFailed = errors.New("verify: check failed")
)
