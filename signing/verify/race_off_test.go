//go:build !race

package verify

const raceSlowdown = 1
