package store

import (
	"context"
	"strings"
	"time"

	"vanban/internal/document"
)

// SigningIdentity says how a user signs as a leader: through which
// configured provider, and as whom there (a phone number for a SIM).
type SigningIdentity struct {
	UserID         string
	Provider       string // configured provider name
	ProviderSigner string // e.g. the MSISDN 84912345678
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// SealSigner says how an organization applies its seal signature.
type SealSigner struct {
	OrgID          string
	Provider       string // configured provider name (key file, PKCS#11)
	ProviderSigner string // empty: the provider's default key
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

type signerRow struct {
	Owner          string `db:"owner"`
	Provider       string `db:"provider"`
	ProviderSigner string `db:"provider_signer"`
	CreatedAt      int64  `db:"created_at"`
	UpdatedAt      int64  `db:"updated_at"`
}

func checkProvider(provider, signer string) error {
	switch {
	case strings.TrimSpace(provider) == "":
		return document.Errorf(document.EINVALID, "name the signing provider")
	case len(provider) > 100 || len(signer) > 200:
		return document.Errorf(document.EINVALID, "provider name or signer id is too long")
	}
	return nil
}

// SetSigningIdentity creates or replaces the leader signing identity of
// id.UserID. Returns EINVALID, also for an unknown user.
func (db *DB) SetSigningIdentity(ctx context.Context, id *SigningIdentity) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.SetSigningIdentity(ctx, id) })
}

// SetSigningIdentity is the transactional form of DB.SetSigningIdentity.
func (tx *Tx) SetSigningIdentity(ctx context.Context, id *SigningIdentity) error {
	if id.UserID == "" {
		return document.Errorf(document.EINVALID, "a signing identity belongs to a user")
	}
	if err := checkProvider(id.Provider, id.ProviderSigner); err != nil {
		return err
	}
	t := now()
	// ON CONFLICT ... DO UPDATE is the same on PostgreSQL and SQLite 3.24+;
	// created_at keeps the first registration.
	_, err := tx.exec(ctx, `INSERT INTO signing_identities (user_id, provider, provider_signer, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET provider = excluded.provider,
			provider_signer = excluded.provider_signer, updated_at = excluded.updated_at`,
		id.UserID, id.Provider, id.ProviderSigner, micros(t), micros(t))
	if err != nil {
		return dbError("set signing identity", err, "user "+id.UserID)
	}
	got, err := tx.SigningIdentity(ctx, id.UserID)
	if err != nil {
		return err
	}
	*id = *got
	return nil
}

// SigningIdentity returns the leader signing identity of a user. Returns
// ENOTFOUND when the user has none.
func (db *DB) SigningIdentity(ctx context.Context, userID string) (*SigningIdentity, error) {
	return read(db, ctx, func(tx *Tx) (*SigningIdentity, error) { return tx.SigningIdentity(ctx, userID) })
}

// SigningIdentity is the transactional form of DB.SigningIdentity.
func (tx *Tx) SigningIdentity(ctx context.Context, userID string) (*SigningIdentity, error) {
	var r signerRow
	err := tx.get(ctx, &r, `SELECT user_id AS owner, provider, provider_signer, created_at, updated_at
		FROM signing_identities WHERE user_id = ?`, userID)
	if err != nil {
		return nil, dbError("signing identity", err, "a signing identity for user "+userID)
	}
	return &SigningIdentity{UserID: r.Owner, Provider: r.Provider, ProviderSigner: r.ProviderSigner,
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt)}, nil
}

// DeleteSigningIdentity removes a user's signing identity. Returns
// ENOTFOUND when there was none.
func (db *DB) DeleteSigningIdentity(ctx context.Context, userID string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		return tx.deleteOne(ctx, `DELETE FROM signing_identities WHERE user_id = ?`, userID, "a signing identity for user "+userID)
	})
}

// SetSealSigner creates or replaces the seal signer of s.OrgID. Returns
// EINVALID, also for an unknown organization.
func (db *DB) SetSealSigner(ctx context.Context, s *SealSigner) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.SetSealSigner(ctx, s) })
}

// SetSealSigner is the transactional form of DB.SetSealSigner.
func (tx *Tx) SetSealSigner(ctx context.Context, s *SealSigner) error {
	if s.OrgID == "" {
		return document.Errorf(document.EINVALID, "a seal signer belongs to an organization")
	}
	if err := checkProvider(s.Provider, s.ProviderSigner); err != nil {
		return err
	}
	t := now()
	_, err := tx.exec(ctx, `INSERT INTO seal_signers (org_id, provider, provider_signer, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id) DO UPDATE SET provider = excluded.provider,
			provider_signer = excluded.provider_signer, updated_at = excluded.updated_at`,
		s.OrgID, s.Provider, s.ProviderSigner, micros(t), micros(t))
	if err != nil {
		return dbError("set seal signer", err, "organization "+s.OrgID)
	}
	got, err := tx.SealSigner(ctx, s.OrgID)
	if err != nil {
		return err
	}
	*s = *got
	return nil
}

// SealSigner returns the seal signer of an organization. Returns ENOTFOUND
// when none is configured.
func (db *DB) SealSigner(ctx context.Context, orgID string) (*SealSigner, error) {
	return read(db, ctx, func(tx *Tx) (*SealSigner, error) { return tx.SealSigner(ctx, orgID) })
}

// SealSigner is the transactional form of DB.SealSigner.
func (tx *Tx) SealSigner(ctx context.Context, orgID string) (*SealSigner, error) {
	var r signerRow
	err := tx.get(ctx, &r, `SELECT org_id AS owner, provider, provider_signer, created_at, updated_at
		FROM seal_signers WHERE org_id = ?`, orgID)
	if err != nil {
		return nil, dbError("seal signer", err, "a seal signer for organization "+orgID)
	}
	return &SealSigner{OrgID: r.Owner, Provider: r.Provider, ProviderSigner: r.ProviderSigner,
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt)}, nil
}

// DeleteSealSigner removes an organization's seal signer. Returns ENOTFOUND
// when there was none.
func (db *DB) DeleteSealSigner(ctx context.Context, orgID string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		return tx.deleteOne(ctx, `DELETE FROM seal_signers WHERE org_id = ?`, orgID, "a seal signer for organization "+orgID)
	})
}

// deleteOne runs a DELETE that must remove exactly one row.
func (tx *Tx) deleteOne(ctx context.Context, q, id, what string) error {
	res, err := tx.exec(ctx, q, id)
	if err != nil {
		return dbError("delete", err, what)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return document.Errorf(document.ENOTFOUND, "%s not found", what)
	}
	return nil
}
