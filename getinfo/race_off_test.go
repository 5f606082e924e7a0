//go:build !race

package getinfo_test

const raceEnabled = false
