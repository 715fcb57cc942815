// Package officeconv converts office documents (DOCX, ODT, DOC) to PDF with
// LibreOffice, as a bounded and isolated child process.
//
// LibreOffice is a large parser of untrusted input. A converter therefore
// runs each conversion with:
//   - its own process group, killed whole at the deadline or on cancel
//     (killing only the soffice wrapper leaves soffice.bin running), and a
//     parent-death signal so the child dies with the server;
//   - a wall-clock limit and an address-space limit (RLIMIT_AS set by
//     /bin/sh's ulimit just before exec, so it applies from the first
//     instruction and is inherited by anything LibreOffice starts);
//   - a bounded number of conversions at once;
//   - a private throwaway profile (-env:UserInstallation) in a temporary
//     directory removed afterwards;
//   - no network: a fresh network namespace when the kernel lets us make
//     one, and before that a scan of the package that refuses documents
//     linking to external images, files or fields (a linked image would
//     make the server fetch a URL, and a file:/// image would copy a
//     server file into the stored PDF);
//   - its output going to a file, not a pipe, so a grandchild holding the
//     pipe open cannot keep the request waiting.
package officeconv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Errors a conversion returns; all of them are the document's fault or the
// limits' and map to a 4xx for the uploader, except ErrBusy (503-like) and
// ErrUnavailable.
var (
	// ErrTimeout means the conversion ran past its wall-clock limit and was
	// killed.
	ErrTimeout = errors.New("officeconv: the conversion took too long and was stopped")
	// ErrExternalContent means the document refers to content outside
	// itself (a linked image, an included file, a DDE link).
	ErrExternalContent = errors.New("officeconv: the document links to external content")
	// ErrFailed means LibreOffice did not produce a PDF (damaged input, or
	// the memory limit).
	ErrFailed = errors.New("officeconv: LibreOffice could not convert the file")
	// ErrUnsupported means the extension is not one we convert.
	ErrUnsupported = errors.New("officeconv: unsupported document format")
	// ErrTooLarge means the input is larger than the converter accepts.
	ErrTooLarge = errors.New("officeconv: the document is too large")
)

// Error carries the detail of a failed conversion; errors.Is matches its
// Kind (one of the Err values above).
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Kind }

// Options bound a Converter. Zero values take the defaults.
type Options struct {
	// Soffice is LibreOffice's soffice or soffice.bin; "" looks it up in
	// PATH.
	Soffice string
	// Timeout is the wall-clock limit of one conversion (default 60s).
	Timeout time.Duration
	// MemoryLimit is the address-space limit of the LibreOffice process in
	// bytes (default 1 GiB; LibreOffice 7 needs about 600 MiB of address
	// space for a plain document).
	MemoryLimit int64
	// MaxConcurrent is how many conversions run at once (default 1); others
	// wait for a slot until their context ends.
	MaxConcurrent int
	// MaxInput is the largest input in bytes (default 50 MiB).
	MaxInput int64
	// TempDir holds the per-conversion directories (default os.TempDir()).
	TempDir string
}

// Converter runs conversions. It is safe for concurrent use.
type Converter struct {
	bin   string // soffice.bin when found next to soffice, so signals reach it
	opt   Options
	slots chan struct{}

	netnsOnce sync.Once
	netns     bool // whether CLONE_NEWNET works here
}

// New returns a converter, or an error when LibreOffice is not installed.
func New(opt Options) (*Converter, error) {
	if opt.Soffice == "" {
		p, err := exec.LookPath("soffice")
		if err != nil {
			return nil, fmt.Errorf("officeconv: LibreOffice (soffice) not found: %w", err)
		}
		opt.Soffice = p
	}
	bin, err := resolveBinary(opt.Soffice)
	if err != nil {
		return nil, err
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 60 * time.Second
	}
	if opt.MemoryLimit <= 0 {
		opt.MemoryLimit = 1 << 30
	}
	if opt.MaxConcurrent <= 0 {
		opt.MaxConcurrent = 1
	}
	if opt.MaxInput <= 0 {
		opt.MaxInput = 50 << 20
	}
	return &Converter{bin: bin, opt: opt, slots: make(chan struct{}, opt.MaxConcurrent)}, nil
}

// resolveBinary follows the soffice symlink and, when soffice.bin sits next
// to the wrapper script, runs it directly: the wrapper and oosplash would
// otherwise stand between us and the process that does the work, and a
// parent-death signal reaches only our direct child.
func resolveBinary(soffice string) (string, error) {
	p, err := filepath.EvalSymlinks(soffice)
	if err != nil {
		return "", fmt.Errorf("officeconv: %w", err)
	}
	if strings.HasSuffix(p, ".bin") {
		return p, nil
	}
	if bin := filepath.Join(filepath.Dir(p), "soffice.bin"); fileExists(bin) {
		return bin, nil
	}
	return p, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Formats lists the extensions Convert accepts.
var Formats = []string{".docx", ".odt", ".doc"}

// Convert converts the document read from r (of the format named by ext,
// ".docx", ".odt" or ".doc") and returns the PDF, whose temporary file is
// removed on Close.
func (c *Converter) Convert(ctx context.Context, r io.Reader, ext string) (io.ReadCloser, error) {
	ext = strings.ToLower(ext)
	if !supported(ext) {
		return nil, &Error{Kind: ErrUnsupported, Detail: ext}
	}
	dir, err := os.MkdirTemp(c.opt.TempDir, "vanban-convert-")
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	in := filepath.Join(dir, "input"+ext)
	f, err := os.OpenFile(in, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(f, io.LimitReader(r, c.opt.MaxInput+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if n > c.opt.MaxInput {
		return nil, &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("more than %d bytes", c.opt.MaxInput)}
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.opt.Timeout)
	defer cancel()
	ctxErr := func(doing string) error {
		if err := parent.Err(); err != nil {
			return err // the caller's deadline or cancel, not our limit
		}
		return &Error{Kind: ErrTimeout, Detail: fmt.Sprintf("limit %s, %s", c.opt.Timeout, doing)}
	}
	if ext != ".doc" {
		if err := checkPackage(ctx, in, ext); err != nil {
			if ctx.Err() != nil {
				return nil, ctxErr("checking the package")
			}
			return nil, err
		}
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctxErr("waiting for a conversion slot")
	}
	defer func() { <-c.slots }()

	// A first start in a fresh profile only creates the profile and exits
	// with 81 ("restart"), which oosplash would handle for us.
	for attempt := 0; ; attempt++ {
		code, err := c.run(ctx, dir, in)
		if errors.Is(err, errKilled) {
			return nil, ctxErr("LibreOffice killed")
		}
		if err != nil {
			return nil, err
		}
		if code == 81 && attempt == 0 {
			continue
		}
		break
	}
	pf, err := os.Open(filepath.Join(dir, "input.pdf"))
	if err != nil {
		return nil, &Error{Kind: ErrFailed, Detail: c.output(dir)}
	}
	keep = true
	return &removeOnClose{File: pf, dir: dir}, nil
}

func supported(ext string) bool {
	for _, f := range Formats {
		if f == ext {
			return true
		}
	}
	return false
}

// errKilled is run's report that the context ended and the group was
// killed.
var errKilled = errors.New("officeconv: killed")

// run starts LibreOffice once and waits for it; the returned code is its
// exit status. Whatever happens, the process group is killed before run
// returns, so nothing LibreOffice started outlives the conversion.
func (c *Converter) run(ctx context.Context, dir, in string) (int, error) {
	logf, err := os.OpenFile(filepath.Join(dir, "soffice.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	kib := strconv.FormatInt(c.opt.MemoryLimit/1024, 10)
	args := []string{"-c", `ulimit -v "$1" || exit 97; shift; exec "$@"`, "sh", kib,
		c.bin, "--headless", "--invisible", "--norestore", "--nologo", "--nolockcheck", "--nodefault",
		"-env:UserInstallation=file://" + filepath.Join(dir, "profile"),
		"--convert-to", "pdf", "--outdir", dir, in}
	start := func(netns bool) (*exec.Cmd, error) {
		cmd := exec.Command("/bin/sh", args...)
		cmd.Dir = dir
		cmd.Stdin = nil
		cmd.Stdout = logf
		cmd.Stderr = logf
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8", "SAL_USE_VCLPLUGIN=svp"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if netns {
			cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
		}
		return cmd, cmd.Start()
	}
	c.netnsOnce.Do(func() { c.netns = true })
	cmd, err := start(c.netns)
	if err != nil && c.netns && (errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL)) {
		// No user or network namespaces here (an unprivileged container):
		// the package scan still keeps links out.
		c.netns = false
		cmd, err = start(false)
	}
	if err != nil {
		return 0, fmt.Errorf("officeconv: start LibreOffice: %w", err)
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
		killGroup(pgid)
		return 0, errKilled
	}
	killGroup(pgid)
	if werr == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 0, &Error{Kind: ErrFailed, Detail: "LibreOffice stopped by " + ws.Signal().String() + " (memory limit?)"}
		}
		if code := ee.ExitCode(); code == 81 {
			return 81, nil
		}
		return 0, &Error{Kind: ErrFailed, Detail: c.output(dir)}
	}
	return 0, werr
}

// killGroup kills what remains of a process group and waits briefly until
// it is gone, so a caller that returns can say nothing is left running.
func killGroup(pgid int) {
	for i := 0; i < 50; i++ {
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
			return // ESRCH: the group is empty
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// output is the first part of LibreOffice's messages, for the error.
func (c *Converter) output(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "soffice.log"))
	b = bytes.TrimSpace(b)
	if len(b) > 300 {
		b = b[:300]
	}
	if len(b) == 0 {
		return "no PDF was produced"
	}
	return string(b)
}

type removeOnClose struct {
	*os.File
	dir string
}

func (r *removeOnClose) Close() error {
	err := r.File.Close()
	os.RemoveAll(r.dir)
	return err
}
