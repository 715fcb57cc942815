package signsession

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"vanban/internal/store"
)

// Several vanban serve processes (nodes) share one database. A node works
// on a session only while it holds the session's lease (store.ClaimLeases,
// kind store.LeaseSigning), and keeps it from the moment it starts the
// session until the session ends: the provider call in flight, a
// synchronous one above all, belongs to that node, and no other node polls
// the session or sends its request again while the lease is live. Run
// renews the node's leases every LeaseTTL/3. A node that dies stops
// renewing; once the lease expires another node claims the session and
// takes it over: it polls the provider's transaction (an asynchronous one
// is found again from its id), or, for a synchronous call that died with
// its process, sends the request again under the session's idempotency
// key, which the provider recognises as the same transaction.
//
// Within a node, inflight (signsession.go) keeps two goroutines off the
// same session; the lease keeps two nodes off it.

// leaseBook is what a node knows of its own leases.
type leaseBook struct {
	mu   sync.Mutex
	held map[string]bool
}

func (b *leaseBook) add(ids ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == nil {
		b.held = map[string]bool{}
	}
	for _, id := range ids {
		b.held[id] = true
	}
}

func (b *leaseBook) remove(ids ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		delete(b.held, id)
	}
}

func (b *leaseBook) list() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.held))
	for id := range b.held {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// keepOnly drops every id not in keep.
func (b *leaseBook) keepOnly(keep []string) (lost []string) {
	k := make(map[string]bool, len(keep))
	for _, id := range keep {
		k[id] = true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range b.held {
		if !k[id] {
			lost = append(lost, id)
			delete(b.held, id)
		}
	}
	return lost
}

// defaultNode names this process: host, process id and a random suffix,
// so that a restarted process never inherits the leases of its
// predecessor before they expire.
func defaultNode() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// newSessionID is a session id made before the session is stored, so that
// the process marks it in flight before any other goroutine can see it.
func newSessionID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// Node is the name under which this service holds leases.
func (s *Service) Node() string { return s.opts.Node }

// hold claims the leases of ids for this node and returns the ids held.
func (s *Service) hold(ctx context.Context, ids ...string) (map[string]bool, error) {
	got, err := s.db.ClaimLeases(ctx, store.LeaseSigning, s.opts.Node, ids, s.now(), s.opts.LeaseTTL)
	if err != nil {
		return nil, err
	}
	s.leases.add(got...)
	out := make(map[string]bool, len(got))
	for _, id := range got {
		out[id] = true
	}
	return out, nil
}

// holdOne claims one session's lease; false means another node holds it.
func (s *Service) holdOne(ctx context.Context, id string) (bool, error) {
	got, err := s.hold(ctx, id)
	return got[id], err
}

// holdInTx claims the leases of sessions created in tx, in the same
// commit: no other node sees them free.
func (s *Service) holdInTx(ctx context.Context, tx *store.Tx, ids ...string) error {
	got, err := tx.ClaimLeases(ctx, store.LeaseSigning, s.opts.Node, ids, s.now(), s.opts.LeaseTTL)
	if err != nil {
		return err
	}
	if len(got) != len(ids) {
		return fmt.Errorf("signsession: new sessions already leased by another node")
	}
	s.leases.add(ids...)
	return nil
}

// letGo gives up this node's lease on a session it no longer works on (a
// queued session waiting for its turn, which any node may start).
func (s *Service) letGo(ctx context.Context, ids ...string) {
	s.leases.remove(ids...)
	if err := s.db.ReleaseLeases(context.WithoutCancel(ctx), store.LeaseSigning, s.opts.Node, ids...); err != nil {
		s.log.Warn("signsession: releasing leases", "sessions", ids, "err", err)
	}
}

// afterStep keeps or gives up the lease on a session after a step left it
// as out: an active session in preparing or pending stays with this node,
// a queued one is let go, an ended one lost its lease with its last write
// (endLease) — unless this node claimed it again after that write (a pass
// listed the session pending, another goroutine completed it, the pass's
// claim came after): that lease is dropped here, or it would outlive its
// session until it expired.
func (s *Service) afterStep(ctx context.Context, id string, out *store.SigningSession, err error) {
	switch {
	case err != nil:
		// Unknown: keep it; the next pass of this node tries again.
	case out == nil || out.State == store.SigningQueued:
		s.letGo(ctx, id)
	case !out.State.Active():
		s.letGo(ctx, id)
	}
}

// handOver is afterStep for a request's own step (StartLeader, a seal):
// a session it leaves pending or queued is the worker's from now on, and
// the worker may be asleep until its fallback tick, so it is woken to
// learn the session's next poll.
func (s *Service) handOver(ctx context.Context, id string, out *store.SigningSession, err error) {
	s.afterStep(ctx, id, out, err)
	if err == nil && out != nil && out.State.Active() {
		s.Wake()
	}
}

// endLease drops the lease of a session that ends in tx, whoever holds it.
func (s *Service) endLease(ctx context.Context, tx *store.Tx, id string) error {
	return tx.ReleaseLeases(ctx, store.LeaseSigning, "", id)
}

// renewLeases extends every lease this node holds; leases another node
// took over (this node stalled past LeaseTTL) or whose session ended are
// forgotten.
func (s *Service) renewLeases(ctx context.Context) error {
	ids := s.leases.list()
	if len(ids) == 0 {
		return nil
	}
	got, err := s.db.RenewLeases(ctx, store.LeaseSigning, s.opts.Node, ids, s.now(), s.opts.LeaseTTL)
	if err != nil {
		return err
	}
	if lost := s.leases.keepOnly(got); len(lost) > 0 {
		s.log.Debug("signsession: leases no longer held", "sessions", lost)
	}
	return nil
}

// renewLoop renews the node's leases every LeaseTTL/3 until ctx ends.
func (s *Service) renewLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.renewLeases(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("signsession: renewing leases", "err", err)
			}
		}
	}
}

// releaseAll gives up every lease of this node (the worker stops) and
// tells the other nodes, which take the sessions over at once.
func (s *Service) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.leases.remove(s.leases.list()...)
	if err := s.db.ReleaseHolder(ctx, s.opts.Node); err != nil {
		s.log.Warn("signsession: releasing leases at stop", "err", err)
		return
	}
	if err := s.db.NotifyWork(ctx, store.LeaseSigning); err != nil {
		s.log.Warn("signsession: announcing released leases", "err", err)
	}
}

// Wake makes the worker (Run) pass at once: new work was created or a
// provider answered. Another node's notification (store.ListenWork) wakes
// it the same way.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// WorkReport is the node's view of its signing work, for /readyz.
type WorkReport struct {
	Node string `json:"node"`
	// Held counts the sessions whose lease this node holds.
	Held   int                `json:"leases_held"`
	Leases []store.LeaseCount `json:"leases"`
	// OldestDue is the earliest poll or retry due of a session this node
	// may work on (its own, or one nobody holds); OverdueSeconds how long
	// ago that was, 0 when nothing is late.
	OldestDue      time.Time `json:"oldest_due,omitzero"`
	OverdueSeconds float64   `json:"overdue_seconds"`
}

// Report returns the node's view of its signing work.
func (s *Service) Report(ctx context.Context) (*WorkReport, error) {
	now := s.now()
	counts, err := s.db.LeaseCounts(ctx, s.opts.Node, now)
	if err != nil {
		return nil, err
	}
	next, err := s.db.NextSigningPoll(ctx, s.opts.Node, now)
	if err != nil {
		return nil, err
	}
	r := &WorkReport{Node: s.opts.Node, Held: len(s.leases.list()), Leases: counts, OldestDue: next}
	if !next.IsZero() && next.Before(now) {
		r.OverdueSeconds = now.Sub(next).Seconds()
	}
	return r, nil
}
