package httpapi

import (
	"context"
	"time"
)

// Records is what the API needs of the records side (archive records,
// evidence packages, files); *store.DB and the services in cmd provide it.
type Records interface {
	// RetentionOf returns an archived document's retention date (zero
	// when it has no archive record) and whether it is kept permanently.
	RetentionOf(ctx context.Context, documentID string) (until time.Time, permanent bool, err error)
}

// RetentionJSON is how long an archived document's stored objects are
// protected from deletion.
type RetentionJSON struct {
	RetainUntil time.Time `json:"retain_until"`
	// Permanent (vĩnh viễn): retain_until is the longest the store allows,
	// extended before it comes.
	Permanent bool `json:"permanent"`
}

// retention is the retention of a document the caller already may see.
func (api *API) retention(ctx context.Context, docID string) (*RetentionJSON, error) {
	if api.Records == nil {
		return nil, nil
	}
	until, permanent, err := api.Records.RetentionOf(ctx, docID)
	if err != nil || until.IsZero() {
		return nil, err
	}
	return &RetentionJSON{RetainUntil: until, Permanent: permanent}, nil
}
