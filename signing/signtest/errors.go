package signtest

import (
	"errors"
	"fmt"
	"strings"
)

// ToolError reports that an independent validator rejected its input. Output holds what the tool
// printed, so a failing test shows the tool's own words.
type ToolError struct {
	Tool     string
	File     string
	ExitCode int
	Output   string
}

func (e *ToolError) Error() string {
	return fmt.Sprintf("%s rejected %s (exit %d): %s", e.Tool, e.File, e.ExitCode, strings.TrimSpace(e.Output))
}

// Errors of the PDF helpers that parse bytes themselves.
var (
	// ErrNoSignature: the file has no /ByteRange with a /Contents hex string.
	ErrNoSignature = errors.New("signtest: no signature (/ByteRange and /Contents) found")
	// ErrMalformedSignature: a /ByteRange or /Contents exists but does not describe the file.
	ErrMalformedSignature = errors.New("signtest: malformed signature byte range or contents")
	// ErrInvalidArgument: a generator parameter is out of range.
	ErrInvalidArgument = errors.New("signtest: invalid argument")
	// ErrPagesDiffer: two PDFs do not render the same.
	ErrPagesDiffer = errors.New("signtest: rendered pages differ")
)
