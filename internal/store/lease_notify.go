package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/lib/pq"
)

// WorkChannel is the PostgreSQL notification channel on which nodes tell
// each other that background work is ready; the payload is a lease kind.
const WorkChannel = "vanban_work"

// NotifyWork tells every node listening (ListenWork) that work of kind is
// ready. On SQLite, one node only, it does nothing.
func (db *DB) NotifyWork(ctx context.Context, kind string) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.NotifyWork(ctx, kind) })
}

// NotifyWork is the transactional form of DB.NotifyWork: PostgreSQL sends
// the notification when tx commits, and not at all if it rolls back.
func (tx *Tx) NotifyWork(ctx context.Context, kind string) error {
	if tx.dialect != Postgres {
		return nil
	}
	_, err := tx.exec(ctx, `SELECT pg_notify(?, ?)`, WorkChannel, kind)
	return dbError("notify work", err, "notification")
}

// ListenWork calls fn with the kind of every work notification until ctx
// ends, on its own connection, reconnecting after a lost one (and then
// calling fn with "" : notifications may have been missed). On SQLite it
// waits for ctx: there are no other nodes. It returns ctx's error.
func (db *DB) ListenWork(ctx context.Context, log *slog.Logger, fn func(kind string)) error {
	if db.dialect != Postgres {
		<-ctx.Done()
		return ctx.Err()
	}
	if log == nil {
		log = slog.Default()
	}
	l := pq.NewListener(db.dsn, time.Second, 30*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected:
			log.Warn("store: work notifications: connection lost", "err", err)
		case pq.ListenerEventConnectionAttemptFailed:
			log.Warn("store: work notifications: reconnecting", "err", err)
		}
	})
	defer l.Close()
	if err := l.Listen(WorkChannel); err != nil && !errors.Is(err, pq.ErrChannelAlreadyOpen) {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case n := <-l.Notify:
			if n == nil {
				fn("") // reconnected: anything may have happened meanwhile
				continue
			}
			fn(n.Extra)
		case <-time.After(90 * time.Second):
			// A quiet connection may have died without telling.
			go func() { _ = l.Ping() }()
		}
	}
}
