// Package pipe copies byte ranges of an io.ReaderAt to several writers
// (typically hashes and an output file) with the reading, and each writer,
// on its own goroutine, so that on a large file SHA-256 overlaps the
// system calls instead of following them. Small ranges are copied inline:
// starting goroutines costs more than it saves below a block.
package pipe

import (
	"io"
	"sync"
)

// Range is n bytes of a ReaderAt from off.
type Range struct {
	RA  io.ReaderAt
	Off int64
	N   int64
}

// blockSize is the read size. 256 KiB keeps the number of system calls low
// and the buffers (blocks of them in flight) a few MiB in all.
const blockSize = 256 << 10

// blocks is how many buffers circulate: enough that the reader and every
// sink can each hold one.
const blocks = 4

// inline is the total size below which Copy does not start goroutines.
const inline = 2 * blockSize

// Copy writes the ranges, in order, to every sink. Each sink sees the same
// bytes in the same order; a short read is io.ErrUnexpectedEOF. The first
// error (of a read or of a sink) stops the copy and is returned; sinks may
// have received part of the data by then.
func Copy(ranges []Range, sinks ...io.Writer) error {
	var total int64
	for _, r := range ranges {
		total += r.N
	}
	if len(sinks) == 0 || total == 0 {
		return nil
	}
	if len(sinks) == 1 && total > inline {
		return copyToFile(ranges, sinks[0])
	}
	if total <= inline {
		return copyInline(ranges, sinks, total)
	}
	return copyPipelined(ranges, sinks)
}

// copyToFile copies to one writer range by range: a file range to a file
// in the kernel where it can, the others the ordinary way.
func copyToFile(ranges []Range, w io.Writer) error {
	for i, r := range ranges {
		handled, err := copyFile(w, r)
		if err != nil {
			return err
		}
		if handled {
			continue
		}
		if r.N <= inline {
			err = copyInline(ranges[i:i+1], []io.Writer{w}, r.N)
		} else {
			err = copyPipelined(ranges[i:i+1], []io.Writer{w})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func copyInline(ranges []Range, sinks []io.Writer, total int64) error {
	buf := make([]byte, min(total, blockSize))
	for _, r := range ranges {
		for done := int64(0); done < r.N; {
			b := buf[:min(int64(len(buf)), r.N-done)]
			if err := readFull(r.RA, b, r.Off+done); err != nil {
				return err
			}
			for _, s := range sinks {
				if _, err := s.Write(b); err != nil {
					return err
				}
			}
			done += int64(len(b))
		}
	}
	return nil
}

// copyPipelined runs a chain of stages: the reader fills a free buffer and
// passes it to the first sink's goroutine, which passes it to the next,
// and the last returns it to the free list. Sinks therefore work on
// different blocks at the same time, and each sees the blocks in order.
func copyPipelined(ranges []Range, sinks []io.Writer) error {
	free := make(chan []byte, blocks)
	for range blocks {
		free <- make([]byte, blockSize)
	}
	stop := make(chan struct{})
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		once.Do(func() {
			firstErr = err
			close(stop)
		})
	}

	stages := make([]chan []byte, len(sinks))
	for i := range stages {
		stages[i] = make(chan []byte, blocks)
	}
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var next chan []byte
			if i+1 < len(sinks) {
				next = stages[i+1]
			}
			defer func() {
				if next != nil {
					close(next)
				}
			}()
			failed := false
			for b := range stages[i] {
				if !failed {
					select {
					case <-stop:
						failed = true
					default:
						if _, err := s.Write(b); err != nil {
							fail(err)
							failed = true
						}
					}
				}
				if next != nil && !failed {
					next <- b
				} else {
					free <- b[:cap(b)]
				}
			}
		}()
	}

	func() {
		defer close(stages[0])
		for _, r := range ranges {
			for done := int64(0); done < r.N; {
				var b []byte
				select {
				case b = <-free:
				case <-stop:
					return
				}
				b = b[:min(int64(len(b)), r.N-done)]
				if err := readFull(r.RA, b, r.Off+done); err != nil {
					fail(err)
					free <- b
					return
				}
				stages[0] <- b
				done += int64(len(b))
			}
		}
	}()
	wg.Wait()
	return firstErr
}

// readFull reads len(b) bytes at off; EOF before that is
// io.ErrUnexpectedEOF.
func readFull(ra io.ReaderAt, b []byte, off int64) error {
	n, err := ra.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
