//go:build race

package verify

// The race detector slows validation down about tenfold; the time limit
// of the corpus test is about the product, so it is scaled under -race.
const raceSlowdown = 10
