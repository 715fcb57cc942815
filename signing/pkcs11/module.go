//go:build cgo

package pkcs11

import (
	"errors"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// A PKCS#11 library may be initialised once per process: a second
// C_Initialize fails, and C_Finalize ends every session of every user. So
// providers that share a module share one loaded instance, counted by
// reference.
type module struct {
	path string
	ctx  *p11.Ctx
	refs int
	// owned is false when someone else in the process had initialised the
	// library already; then we must not finalise it under them.
	owned bool
}

var (
	modulesMu sync.Mutex
	modules   = map[string]*module{}
)

func loadModule(path string) (*module, error) {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if m, ok := modules[path]; ok {
		m.refs++
		return m, nil
	}
	ctx := p11.New(path)
	if ctx == nil {
		return nil, &p11Error{kindBadRequest, "cannot load PKCS#11 module " + path + " (missing file or not a PKCS#11 library)", nil}
	}
	owned := true
	if err := ctx.Initialize(); err != nil {
		if !errors.Is(err, p11.Error(p11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			ctx.Destroy()
			return nil, mapError("initialising module "+path, err)
		}
		owned = false
	}
	m := &module{path: path, ctx: ctx, refs: 1, owned: owned}
	modules[path] = m
	return m, nil
}

func (m *module) release() error {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(modules, m.path)
	var err error
	if m.owned {
		err = m.ctx.Finalize()
	}
	m.ctx.Destroy()
	if err != nil {
		return mapError("finalising module "+m.path, err)
	}
	return nil
}
