//go:build cgo

package pkcs11

// DropAllSessions closes every session of this process on the key's token,
// as a token reset or an HSM failover does: the pooled sessions and the
// login are gone and the Key must recover on its own.
func (k *Key) DropAllSessions() error { return k.ctx.CloseAllSessions(k.slot) }
