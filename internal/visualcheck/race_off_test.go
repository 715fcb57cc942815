//go:build !race

package visualcheck_test

const raceEnabled = false
