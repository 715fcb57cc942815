package storage

import (
	"context"
	"time"
)

// Retainer is a Store that can put an object already stored under
// retention, in the manner of fs.ReadFileFS: an optional capability,
// found with a type assertion (or through Retain).
type Retainer interface {
	// Retain protects key from Delete and from being replaced until
	// until. Retention only ever grows: a date before the object's
	// current one leaves it unchanged, and the returned Object carries
	// the date in force. A missing object gives ErrNotExist; a store that
	// cannot enforce it right now (an S3 bucket without Object Lock)
	// gives ErrRetentionUnsupported.
	Retain(ctx context.Context, key string, until time.Time) (Object, error)

	// MaxRetention is the longest period from now the store accepts.
	// Permanent records are retained that long and renewed before it
	// ends (see PermanentUntil).
	MaxRetention() time.Duration
}

// DefaultMaxRetention is what the bundled backends accept: one hundred
// years, the longest default retention period AWS S3 Object Lock allows
// for a bucket, and far beyond any retention schedule's fixed periods.
const DefaultMaxRetention = 100 * 365 * 24 * time.Hour

// Retain puts key under retention until until when s can (Retainer), and
// fails with ErrRetentionUnsupported otherwise.
func Retain(ctx context.Context, s Store, key string, until time.Time) (Object, error) {
	r, ok := s.(Retainer)
	if !ok {
		return Object{}, E("retain", key, ErrRetentionUnsupported, nil)
	}
	if err := ValidateKey(key); err != nil {
		return Object{}, err
	}
	return r.Retain(ctx, key, until)
}

// PermanentUntil is the retention date of a permanent record in s: the
// longest s allows from now. A record kept forever is retained that long
// and extended again before the date comes near.
func PermanentUntil(s Store, now time.Time) time.Time {
	max := DefaultMaxRetention
	if r, ok := s.(Retainer); ok {
		max = r.MaxRetention()
	}
	return now.Add(max).UTC().Truncate(time.Second)
}
