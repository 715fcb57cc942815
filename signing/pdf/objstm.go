package pdf

import "strconv"

// objStm is a decoded object stream: its data and the object table from its
// header.
type objStm struct {
	num   uint32
	data  []byte
	nums  []uint32
	offs  []int64 // absolute positions in data
	bytes int
}

// objStmCacheBytes bounds the memory the object stream cache may hold, so a
// few huge object streams cannot defeat the reader's memory budget.
const objStmCacheBytes = 16 << 20

func (r *Reader) loadCompressed(num uint32, e xrefEntry, lc *loadCtx) (Object, error) {
	stmNum := uint32(e.off)
	os, err := r.objStm(stmNum, lc)
	if err != nil {
		return nil, err
	}
	idx := int(e.idx)
	if idx >= len(os.nums) || os.nums[idx] != num {
		// The index in the xref is wrong; fall back to the stream's own table.
		idx = -1
		for i, n := range os.nums {
			if n == num {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil, malformed(-1, "object %d is not in object stream %d", num, stmNum)
		}
	}
	start := os.offs[idx]
	end := int64(len(os.data))
	if idx+1 < len(os.offs) && os.offs[idx+1] >= start {
		end = os.offs[idx+1]
	}
	lx := newBytesLexer(os.data[start:end], 0, r.opts.MaxStringSize)
	p := &parser{lx: lx, maxDepth: r.opts.MaxDepth, maxItems: r.opts.MaxContainerLen}
	obj, err := p.object(0)
	if err != nil {
		if pe, ok := err.(*Error); ok {
			pe.Reason = "in object stream " + strconv.FormatUint(uint64(stmNum), 10) + ": " + pe.Reason
		}
		return nil, err
	}
	return obj, nil
}

func (r *Reader) objStm(num uint32, lc *loadCtx) (*objStm, error) {
	r.mu.Lock()
	for i, c := range r.cache {
		if c.num == num {
			copy(r.cache[1:i+1], r.cache[:i])
			r.cache[0] = c
			r.mu.Unlock()
			return c, nil
		}
	}
	r.mu.Unlock()

	e, ok := r.index.get(num)
	if !ok || e.kind != entryOffset {
		return nil, malformed(-1, "object stream %d is not a plain object in the file", num)
	}
	if err := lc.enter(num, r.opts.MaxRefChain); err != nil {
		return nil, err
	}
	defer lc.leave()
	obj, err := r.load(num, e, lc)
	if err != nil {
		return nil, err
	}
	s, ok := obj.(*Stream)
	if !ok {
		return nil, malformed(e.off, "object stream %d is not a stream", num)
	}
	n, ok1 := s.Dict.Get("N").(Integer)
	first, ok2 := s.Dict.Get("First").(Integer)
	if !ok1 || !ok2 || n < 0 || first < 0 {
		return nil, malformed(e.off, "object stream %d lacks valid /N and /First", num)
	}
	if int64(n) > int64(r.opts.MaxObjStmObjects) {
		return nil, limitErr(e.off, "object stream %d declares %d objects (limit %d)", num, n, r.opts.MaxObjStmObjects)
	}
	data, err := s.decoded(r.opts.MaxStreamSize, lc)
	if err != nil {
		return nil, err
	}
	if int64(first) > int64(len(data)) {
		return nil, malformed(e.off, "object stream %d /First beyond its data", num)
	}
	os := &objStm{num: num, data: data, bytes: len(data)}
	lx := newBytesLexer(data[:first], 0, 64)
	for i := 0; i < int(n); i++ {
		a, err1 := lx.next()
		b, err2 := lx.next()
		if firstErr(err1, err2) != nil || a.kind != tInt || b.kind != tInt || a.i < 0 || a.i > 1<<32-1 || b.i < 0 || int64(first)+b.i > int64(len(data)) {
			return nil, malformed(e.off, "object stream %d has a bad header entry %d", num, i)
		}
		os.nums = append(os.nums, uint32(a.i))
		os.offs = append(os.offs, int64(first)+b.i)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if os.bytes <= objStmCacheBytes {
		r.cache = append([]*objStm{os}, r.cache...)
		total := 0
		for i, c := range r.cache {
			total += c.bytes
			if i >= r.opts.ObjStmCacheSize || total > objStmCacheBytes {
				r.cache = r.cache[:i]
				break
			}
		}
	}
	return os, nil
}
