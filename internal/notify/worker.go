package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"vanban/internal/audit"
	"vanban/internal/document"
)

// Options tune a Worker. Zero values take the defaults in brackets.
type Options struct {
	// Channels by name (ChannelPage, ChannelEmail, ChannelChat); a channel
	// not configured gets no deliveries.
	Channels map[string]Channel
	// BaseURL is the public URL links in e-mail and chat start with.
	BaseURL string
	// Interval between passes [500ms]: how soon a notice follows the step.
	Interval time.Duration
	// DeadlineScan is how often deadlines are looked at [10m].
	DeadlineScan time.Duration
	// DigestHour is the hour of the day (Vietnam time) digests go out [7].
	DigestHour int
	// MaxAttempts before a delivery is given up [8].
	MaxAttempts int
	// Lease hides a claimed delivery from other workers [2m].
	Lease time.Duration
	// SendTimeout bounds one send [30s].
	SendTimeout time.Duration
	Logger      *slog.Logger
	// Now is the clock [time.Now].
	Now func() time.Time
}

// Worker turns audit entries and deadlines into notices and sends them.
type Worker struct {
	st       Store
	opt      Options
	lastScan time.Time
}

// New returns a Worker over st.
func New(st Store, opt Options) *Worker {
	if opt.Interval <= 0 {
		opt.Interval = 500 * time.Millisecond
	}
	if opt.DeadlineScan <= 0 {
		opt.DeadlineScan = 10 * time.Minute
	}
	if opt.DigestHour <= 0 || opt.DigestHour > 23 {
		opt.DigestHour = 7
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 8
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.SendTimeout <= 0 {
		opt.SendTimeout = 30 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.BaseURL = strings.TrimRight(opt.BaseURL, "/")
	return &Worker{st: st, opt: opt}
}

// Run makes passes until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.opt.Interval)
	defer t.Stop()
	for {
		if err := w.Step(ctx); err != nil && ctx.Err() == nil {
			w.opt.Logger.Warn("notify: pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step makes one pass: derive notices from new audit entries, look at
// deadlines when due, send what is due. Tests call it directly.
func (w *Worker) Step(ctx context.Context) error {
	var errs []error
	for {
		more, err := w.deriveBatch(ctx)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if !more {
			break
		}
	}
	now := w.opt.Now()
	if w.lastScan.IsZero() || now.Sub(w.lastScan) >= w.opt.DeadlineScan {
		if err := w.scanDeadlines(ctx, now); err != nil {
			errs = append(errs, err)
		} else {
			w.lastScan = now
		}
	}
	if err := w.send(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

const auditBatch = 200

// deriveBatch handles the next batch of audit entries; more reports a full
// batch.
func (w *Worker) deriveBatch(ctx context.Context) (more bool, err error) {
	from, err := w.st.NotifyCursor(ctx)
	if err != nil {
		return false, err
	}
	entries, err := w.st.AuditEntries(ctx, from, auditBatch)
	if err != nil || len(entries) == 0 {
		return false, err
	}
	var ns []Notification
	for _, e := range entries {
		got, err := w.derive(ctx, e)
		if err != nil {
			return false, fmt.Errorf("notify: audit entry %d (%s): %w", e.Seq, e.Action, err)
		}
		ns = append(ns, got...)
	}
	ns, err = w.withDeliveries(ctx, ns)
	if err != nil {
		return false, err
	}
	if _, err := w.st.RecordNotifications(ctx, from, entries[len(entries)-1].Seq, ns); err != nil {
		if document.ErrorCode(err) == document.ECONFLICT {
			return true, nil // another worker took this batch; look again
		}
		return false, err
	}
	return len(entries) == auditBatch, nil
}

// derive returns the notices an audit entry gives rise to.
func (w *Worker) derive(ctx context.Context, e audit.Entry) ([]Notification, error) {
	action, ok := strings.CutPrefix(e.Action, "document.")
	if !ok || e.ObjectType != "document" {
		return nil, nil
	}
	var change map[string]any
	if len(e.Change) > 0 {
		_ = json.Unmarshal(e.Change, &change) // an odd change just gives fewer recipients
	}
	str := func(k string) string { s, _ := change[k].(string); return s }
	var kind Kind
	var to []string
	load := func() (*document.Document, error) { return w.st.Document(ctx, e.ObjectID) }
	d, err := load()
	if document.ErrorCode(err) == document.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch action {
	case string(document.ActionSubmit):
		kind = KindReview
		if rs, ok := change["reviewers"].([]any); ok && len(rs) > 0 {
			if s, ok := rs[0].(string); ok {
				to = []string{s} // reviews are in order: the first one's turn
			}
		}
	case string(document.ActionApprove):
		if str("to") == string(document.StateAwaitingSignature) {
			kind, to = KindSign, []string{d.SignerID}
			break
		}
		kind = KindReview
		steps, err := w.st.ReviewRound(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		if i := slices.IndexFunc(steps, func(s document.ReviewStep) bool { return s.Decision == document.ReviewPending }); i >= 0 {
			to = []string{steps[i].ReviewerID}
		}
	case string(document.ActionReturn):
		kind, to = KindReturned, []string{d.CreatedBy}
	case "assign_signer":
		if d.State == document.StateAwaitingSignature {
			kind, to = KindSign, []string{str("signer")}
		}
	case string(document.ActionStartSigning):
		kind, to = KindSigningPhone, []string{d.SignerID}
	case string(document.ActionSign):
		kind = KindNumberSeal
		if to, err = w.st.RoleHolders(ctx, d.UnitID, document.RoleClerk); err != nil {
			return nil, err
		}
	case string(document.ActionIssue):
		kind, to = KindDocumentReady, []string{d.CreatedBy}
	case "receive":
		kind = KindIncoming
		if to, err = w.st.RoleHolders(ctx, d.UnitID, document.RoleClerk); err != nil {
			return nil, err
		}
	case string(document.ActionRoute):
		kind, to = KindRoute, []string{str("leader")}
	case string(document.ActionAssign):
		kind, to = KindAssigned, []string{str("handler")}
	default:
		return nil, nil
	}
	var out []Notification
	seen := map[string]bool{}
	for _, u := range to {
		if u == "" || u == e.Actor || seen[u] {
			continue // nobody to tell, or the person who just did it
		}
		seen[u] = true
		out = append(out, notice(kind, d, u, "audit:"+strconv.FormatInt(e.Seq, 10)+":"+u, ""))
	}
	return out, nil
}

// notice builds the notice of kind about d for user. extra follows the
// number and subject (a deadline).
func notice(kind Kind, d *document.Document, user, key, extra string) Notification {
	body := d.Subject
	if d.Symbol != "" {
		body = d.Symbol + " · " + body
	}
	if extra != "" {
		body += " · " + extra
	}
	return Notification{
		UserID: user, Kind: kind, DocumentID: d.ID, Title: kind.label(), Body: body,
		Link: "/d/" + d.ID, DedupKey: key,
		// As for webhooks: only a document marked thường is ordinary; an
		// unknown mark counts as secret.
		Secret: d.Confidentiality != document.ConfidentialityNormal,
	}
}

// withDeliveries adds each notice's deliveries from its person's choices.
func (w *Worker) withDeliveries(ctx context.Context, ns []Notification) ([]Notification, error) {
	prefs := map[string]map[string]Preference{}
	now := w.opt.Now().UTC()
	for i := range ns {
		n := &ns[i]
		p, ok := prefs[n.UserID]
		if !ok {
			list, err := w.st.NotifyPreferences(ctx, n.UserID)
			if err != nil {
				return nil, err
			}
			p = map[string]Preference{}
			for _, x := range list {
				p[x.Channel] = x
			}
			prefs[n.UserID] = p
		}
		for _, ch := range Channels {
			if w.opt.Channels[ch] == nil {
				continue
			}
			pref, ok := p[ch]
			if !ok {
				pref = DefaultPreference(n.UserID, ch)
			}
			if pref.Mode == ModeOff || (ch != ChannelPage && pref.Address == "") {
				continue
			}
			addr := pref.Address
			if ch == ChannelPage {
				addr = n.UserID
			}
			dl := Delivery{Channel: ch, Address: addr, DueAt: now}
			if pref.Mode == ModeDigest {
				dl.Digest, dl.DueAt = true, w.nextDigest(now)
			}
			n.Deliveries = append(n.Deliveries, dl)
		}
	}
	return ns, nil
}

// nextDigest is the next digest time after now.
func (w *Worker) nextDigest(now time.Time) time.Time {
	v := now.In(document.VietnamTime)
	at := time.Date(v.Year(), v.Month(), v.Day(), w.opt.DigestHour, 0, 0, 0, document.VietnamTime)
	if !at.After(v) {
		at = at.AddDate(0, 0, 1)
	}
	return at.UTC()
}

// scanDeadlines tells handlers (or, before assignment, the leader) of
// deadlines tomorrow and of documents that became overdue today; once per
// document, person and day.
func (w *Worker) scanDeadlines(ctx context.Context, now time.Time) error {
	v := now.In(document.VietnamTime)
	today := time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, document.VietnamTime)
	tomorrow, after := today.AddDate(0, 0, 1), today.AddDate(0, 0, 2)
	var ns []Notification
	add := func(kind Kind, from, to time.Time) error {
		docs, err := w.st.OpenIncomingByDeadline(ctx, from, to)
		if err != nil {
			return err
		}
		for _, d := range docs {
			who := d.HandlerID
			if who == "" {
				who = d.LeaderID
			}
			if who == "" {
				continue
			}
			key := string(kind) + ":" + d.ID + ":" + who + ":" + today.Format(time.DateOnly)
			ns = append(ns, notice(kind, d, who, key, "Hạn "+d.Deadline.In(document.VietnamTime).Format("15:04 02/01/2006")))
		}
		return nil
	}
	if err := add(KindDueTomorrow, tomorrow, after); err != nil {
		return err
	}
	if err := add(KindOverdueToday, today, now); err != nil {
		return err
	}
	if len(ns) == 0 {
		return nil
	}
	ns, err := w.withDeliveries(ctx, ns)
	if err != nil {
		return err
	}
	_, err = w.st.RecordNotifications(ctx, 0, 0, ns)
	return err
}

const sendBatch = 50

// send claims due deliveries and sends them: instant ones one by one,
// digest ones gathered per person and channel into one message.
func (w *Worker) send(ctx context.Context) error {
	jobs, err := w.st.ClaimNotifyJobs(ctx, w.opt.Now().UTC(), sendBatch, w.opt.Lease)
	if err != nil || len(jobs) == 0 {
		return err
	}
	type groupKey struct{ channel, address string }
	var order []groupKey
	digests := map[groupKey][]Job{}
	var errs []error
	for _, j := range jobs {
		if j.Digest {
			k := groupKey{j.Channel, j.Address}
			if digests[k] == nil {
				order = append(order, k)
			}
			digests[k] = append(digests[k], j)
			continue
		}
		errs = append(errs, w.deliver(ctx, []Job{j}))
	}
	for _, k := range order {
		errs = append(errs, w.deliver(ctx, digests[k]))
	}
	return errors.Join(errs...)
}

// deliver sends jobs (one channel, one address) as one message and records
// the outcome on each.
func (w *Worker) deliver(ctx context.Context, jobs []Job) error {
	j0 := jobs[0]
	ch := w.opt.Channels[j0.Channel]
	var sendErr error
	if ch == nil {
		sendErr = fmt.Errorf("channel %s is not configured", j0.Channel)
	} else {
		ns := make([]Notification, len(jobs))
		for i, j := range jobs {
			ns[i] = j.Notification
		}
		sctx, cancel := context.WithTimeout(ctx, w.opt.SendTimeout)
		sendErr = ch.Send(sctx, j0.Address, w.Compose(j0.Channel, ns, j0.Digest))
		cancel()
	}
	var errs []error
	for _, j := range jobs {
		msg, dead, next := "", false, time.Time{}
		if sendErr != nil {
			msg = truncate(sendErr.Error(), 500)
			dead = j.Attempt >= w.opt.MaxAttempts
			next = w.opt.Now().UTC().Add(backoff(j.Attempt))
			w.opt.Logger.Warn("notify: delivery failed", "delivery", j.ID, "channel", j.Channel, "attempt", j.Attempt, "dead", dead, "err", sendErr)
		} else {
			w.opt.Logger.Info("notify: delivered", "delivery", j.ID, "channel", j.Channel, "kind", j.Notification.Kind, "attempt", j.Attempt)
		}
		if err := w.st.FinishNotifyJob(ctx, j, msg, dead, next); err != nil && document.ErrorCode(err) != document.ECONFLICT {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// backoff is the wait after attempt n failed: 30 s, 1 min, 2 min, ... at
// most an hour.
func backoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// secretTitle is all that leaves the system about a secret document.
const secretTitle = "Bạn có một văn bản cần xử lý"

// Compose builds the message for notices ns on channel ch. Outside the page
// a secret document is only "you have a document", linked to the inbox,
// with no number, subject or id.
func (w *Worker) Compose(ch string, ns []Notification, digest bool) Message {
	var m Message
	for _, n := range ns {
		it := MessageItem{Title: n.Title, Text: n.Body, Link: n.Link}
		if n.Secret && ch != ChannelPage {
			it = MessageItem{Title: secretTitle, Link: "/"}
		}
		if ch != ChannelPage {
			it.Link = w.opt.BaseURL + it.Link
		}
		m.Items = append(m.Items, it)
	}
	if digest {
		m.Subject = fmt.Sprintf("vanban: %d việc chờ bạn hôm nay", len(m.Items))
		m.Text = "Tổng hợp các việc chờ bạn xử lý:"
		m.Link = w.opt.BaseURL + "/"
		return m
	}
	m.Subject = "vanban: " + m.Items[0].Title
	m.Text, m.Link = m.Items[0].Text, m.Items[0].Link
	return m
}
