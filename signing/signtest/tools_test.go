package signtest

import (
	"fmt"
	"os/exec"
	"runtime"
	"testing"
)

// fakeTB records Skip and Fatalf and ends its goroutine the way the real ones do, so
// RequireTool's two outcomes for a missing tool can be observed without ending this test.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skip(args ...any) {
	f.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func requireInGoroutine(t *testing.T, name string) (path string, tb *fakeTB) {
	tb = &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		path = RequireTool(tb, name)
	}()
	<-done
	return path, tb
}

func TestRequireTool(t *testing.T) {
	want, err := exec.LookPath("qpdf")
	if err != nil {
		t.Skip("qpdf not installed")
	}
	if got := RequireTool(t, "qpdf"); got != want {
		t.Errorf("RequireTool(qpdf) = %q, want %q", got, want)
	}

	const missing = "vanban-no-such-tool"
	t.Setenv(RequireServicesEnv, "")
	if path, tb := requireInGoroutine(t, missing); tb.skipped == "" || tb.fatal != "" || path != "" {
		t.Errorf("without %s: path %q, skipped %q, fatal %q", RequireServicesEnv, path, tb.skipped, tb.fatal)
	}
	t.Setenv(RequireServicesEnv, "1")
	if _, tb := requireInGoroutine(t, missing); tb.skipped != "" || tb.fatal == "" {
		t.Errorf("with %s=1: skipped %q, fatal %q", RequireServicesEnv, tb.skipped, tb.fatal)
	}
}
