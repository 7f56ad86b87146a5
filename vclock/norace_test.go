//go:build !race

package vclock_test

const raceEnabled = false
