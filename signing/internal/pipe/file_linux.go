package pipe

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyFile copies r to dst inside the kernel with copy_file_range(2) when
// both are files: the page cache is copied without passing through this
// process (and a file system with reflinks shares the blocks). The source
// offset is explicit, so a caller's *os.File used as ReaderAt keeps its
// own offset; the destination's offset advances as a Write would. handled
// is false when the kernel or the file systems cannot do it before any
// byte was copied: the caller then copies the ordinary way.
func copyFile(dst io.Writer, r Range) (handled bool, err error) {
	out, ok := dst.(*os.File)
	if !ok {
		return false, nil
	}
	in, ok := r.RA.(*os.File)
	if !ok {
		return false, nil
	}
	inConn, err := in.SyscallConn()
	if err != nil {
		return false, nil
	}
	outConn, err := out.SyscallConn()
	if err != nil {
		return false, nil
	}
	off, done := r.Off, int64(0)
	var callErr error
	for done < r.N {
		var n int
		rerr := inConn.Control(func(infd uintptr) {
			werr := outConn.Write(func(outfd uintptr) bool {
				n, callErr = unix.CopyFileRange(int(infd), &off, int(outfd), nil, int(min(r.N-done, 1<<30)), 0)
				return !errors.Is(callErr, unix.EAGAIN)
			})
			if callErr == nil {
				callErr = werr
			}
		})
		if callErr == nil {
			callErr = rerr
		}
		switch {
		case callErr != nil && done == 0 && fallback(callErr):
			return false, nil
		case callErr != nil:
			return true, &os.SyscallError{Syscall: "copy_file_range", Err: callErr}
		case n == 0:
			return true, io.ErrUnexpectedEOF
		}
		done += int64(n)
	}
	return true, nil
}

// fallback reports the errors that mean "not possible here" rather than a
// failed copy: no such system call, different or unsuitable file systems,
// a destination opened for appending.
func fallback(err error) bool {
	for _, e := range []error{unix.ENOSYS, unix.EXDEV, unix.EINVAL, unix.EOPNOTSUPP, unix.EBADF, unix.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
