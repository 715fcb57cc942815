package store

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/lib/pq"
)

// WorkChannel is the PostgreSQL notification channel on which nodes tell
// each other that background work is ready; the payload is a lease kind.
const WorkChannel = "vanban_work"

// NotifyWork tells every listener (ListenWork) that work of kind is ready:
// on PostgreSQL every node's, on SQLite (one node) this process's.
func (db *DB) NotifyWork(ctx context.Context, kind string) error {
	return db.WithTx(ctx, func(tx *Tx) error { return tx.NotifyWork(ctx, kind) })
}

// NotifyWork is the transactional form of DB.NotifyWork: the notification
// goes out when tx commits, and not at all if it rolls back.
func (tx *Tx) NotifyWork(ctx context.Context, kind string) error {
	if tx.dialect != Postgres {
		if !slices.Contains(tx.work, kind) {
			tx.work = append(tx.work, kind)
		}
		return nil
	}
	_, err := tx.exec(ctx, `SELECT pg_notify(?, ?)`, WorkChannel, kind)
	return dbError("notify work", err, "notification")
}

// localListeners are the ListenWork callbacks of this process on SQLite.
type localListeners struct {
	mu  sync.Mutex
	fns map[int]func(string)
	n   int
}

func (l *localListeners) add(fn func(string)) (remove func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fns == nil {
		l.fns = map[int]func(string){}
	}
	l.n++
	id := l.n
	l.fns[id] = fn
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.fns, id)
	}
}

func (l *localListeners) send(kind string) {
	l.mu.Lock()
	fns := make([]func(string), 0, len(l.fns))
	for _, fn := range l.fns {
		fns = append(fns, fn)
	}
	l.mu.Unlock()
	for _, fn := range fns {
		fn(kind)
	}
}

// ListenWork calls fn with the kind of every work notification until ctx
// ends and returns ctx's error. On PostgreSQL it listens on its own
// connection, reconnecting after a lost one (and then calling fn with "":
// notifications may have been missed); on SQLite it hears the commits of
// this process, the only node. fn must not block.
func (db *DB) ListenWork(ctx context.Context, log *slog.Logger, fn func(kind string)) error {
	if db.dialect != Postgres {
		remove := db.local.add(fn)
		defer remove()
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
