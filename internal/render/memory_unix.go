//go:build unix

package render

import (
	"sync"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero/experimental"
)

// unmapDelay is how long a freed linear memory keeps its address range
// before it is unmapped. A killed instance is freed while its guest call
// may still be unwinding on another goroutine (wazero stops it at the next
// function call or loop back-edge); touching a range that was already
// unmapped would crash the process, touching a range released with
// MADV_DONTNEED reads zeros.
const unmapDelay = time.Minute

// mmapAllocator backs each instance's linear memory with its own anonymous
// mapping of the maximum size, reserved but not committed: growing the
// memory commits pages as PDFium touches them, without the copies (and the
// garbage the Go heap would keep until its next collection) of growing a
// slice, and freeing an instance returns its pages to the system at once.
type mmapAllocator struct{}

func memoryAllocator() experimental.MemoryAllocator { return mmapAllocator{} }

func (mmapAllocator) Allocate(_, max uint64) experimental.LinearMemory {
	if max == 0 || max > 1<<32 {
		max = 1 << 32
	}
	buf, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return &sliceMemory{max: max}
	}
	return &mmapMemory{buf: buf}
}

type mmapMemory struct {
	once sync.Once
	buf  []byte
}

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size:size]
}

func (m *mmapMemory) Free() {
	m.once.Do(func() {
		buf := m.buf
		_ = syscall.Madvise(buf, syscall.MADV_DONTNEED)
		time.AfterFunc(unmapDelay, func() { _ = syscall.Munmap(buf) })
	})
}

// sliceMemory is the fallback when the mapping fails: an ordinary slice.
type sliceMemory struct {
	max uint64
	buf []byte
}

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	nb := make([]byte, size, min(m.max, max(size, 2*uint64(cap(m.buf)))))
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

func (m *sliceMemory) Free() { m.buf = nil }
