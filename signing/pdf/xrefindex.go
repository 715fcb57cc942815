package pdf

// xrefIndex maps object numbers to their cross-reference entries. Object
// numbers are dense in real files (a producer numbers from 1 up), so the
// entries sit in a slice indexed by number, 16 bytes each; a Go map cost
// five times that, and twice again while it grew, on a file with hundreds
// of thousands of objects. A number far beyond what the index holds (a
// hostile "4000000000 1" subsection) goes to a small map instead, so a
// file cannot make the slice large without listing that many objects.
type xrefIndex struct {
	dense  []xrefEntry // by number; kind 0 (entryNone): not listed
	sparse map[uint32]xrefEntry
	n      int // entries listed
}

// denseSlack is how far beyond the listed entries the slice may reach: a
// file with free gaps still indexes densely, and a lone high number costs at
// most this many empty slots.
const denseSlack = 1 << 16

// reserve sizes the slice for size objects (a section's /Size), within
// what the file could hold: fileSize bytes cannot list more than
// fileSize/2 objects, and the hint is only a capacity.
func (x *xrefIndex) reserve(size, fileSize int64) {
	size = min(size, fileSize/2+denseSlack, 1<<24)
	if size > int64(cap(x.dense)) {
		d := make([]xrefEntry, len(x.dense), size)
		copy(d, x.dense)
		x.dense = d
	}
}

func (x *xrefIndex) get(num uint32) (xrefEntry, bool) {
	if int64(num) < int64(len(x.dense)) {
		e := x.dense[num]
		return e, e.kind != entryNone
	}
	e, ok := x.sparse[num]
	return e, ok
}

func (x *xrefIndex) has(num uint32) bool {
	_, ok := x.get(num)
	return ok
}

// put records e for num, replacing any entry.
func (x *xrefIndex) put(num uint32, e xrefEntry) {
	if !x.has(num) {
		x.n++
	}
	switch {
	case int64(num) < int64(len(x.dense)):
		x.dense[num] = e
		return
	case int64(num) < int64(cap(x.dense)) || int64(num) < int64(x.n)*2+denseSlack:
		from := len(x.dense)
		x.dense = append(x.dense, make([]xrefEntry, int(num)+1-from)...)
		// Entries parked in the map that the slice now covers move
		// into it: get looks only at the slice below its length.
		for k, se := range x.sparse {
			if int64(k) >= int64(from) && int64(k) <= int64(num) {
				x.dense[k] = se
				delete(x.sparse, k)
			}
		}
		x.dense[num] = e
		return
	}
	if x.sparse == nil {
		x.sparse = make(map[uint32]xrefEntry)
	}
	x.sparse[num] = e
}

func (x *xrefIndex) len() int { return x.n }

// all calls fn for every entry, the dense ones by number first.
func (x *xrefIndex) all(fn func(num uint32, e xrefEntry)) {
	for i, e := range x.dense {
		if e.kind != entryNone {
			fn(uint32(i), e)
		}
	}
	for num, e := range x.sparse {
		if int64(num) >= int64(len(x.dense)) {
			fn(num, e)
		}
	}
}
