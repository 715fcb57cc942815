package pdf

import "testing"

// TestXRefIndex checks the slice-and-map index against a plain map: dense
// numbers, a gap, a number far beyond (kept in the map) and then numbers
// that grow the slice over parked entries.
func TestXRefIndex(t *testing.T) {
	var x xrefIndex
	want := map[uint32]xrefEntry{}
	put := func(num uint32, off int64) {
		e := xrefEntry{kind: entryOffset, off: off}
		x.put(num, e)
		want[num] = e
	}
	for n := uint32(1); n < 1000; n++ {
		put(n, int64(n)*10)
	}
	put(4_000_000_000, 7)
	put(1500, 15)
	put(200_000, 20) // parked: far beyond the listed entries
	if len(x.dense) > 200_000 {
		t.Fatalf("a lone high number grew the slice to %d", len(x.dense))
	}
	for n := uint32(1000); n < 120_000; n++ {
		put(n, int64(n))
	}
	for n := uint32(120_000); n < 210_000; n++ {
		put(n, int64(n)+1)
	}
	put(500, 5) // replace
	if x.len() != len(want) {
		t.Errorf("len = %d, want %d", x.len(), len(want))
	}
	for num, e := range want {
		if got, ok := x.get(num); !ok || got != e {
			t.Fatalf("get(%d) = %v, %v; want %v", num, got, ok, e)
		}
	}
	for _, num := range []uint32{0, 999_999, 3_999_999_999, 4_000_000_001} {
		if x.has(num) {
			t.Errorf("has(%d) for an unlisted number", num)
		}
	}
	seen := 0
	x.all(func(num uint32, e xrefEntry) {
		seen++
		if want[num] != e {
			t.Errorf("all: %d = %v, want %v", num, e, want[num])
		}
	})
	if seen != len(want) {
		t.Errorf("all visited %d entries, want %d", seen, len(want))
	}
}
