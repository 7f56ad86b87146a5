//go:build !race

package antientropy_test

const raceEnabled = false
