package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"vanban/internal/dashboard"
	"vanban/internal/document"
)

// DashboardFigures counts the documents of orgID that viewer may see, under
// the same visibility rule as SearchDocuments, for the window w: by
// direction, state and urgency; open incoming ones past their deadline or
// due before w.WeekEnd, by handling unit and handler; outgoing ones waiting
// for a signer; the durations of those created in [w.From, w.To) and done;
// and, per month of w.Months, those created and done. One read transaction,
// so the figures agree with each other.
func (db *DB) DashboardFigures(ctx context.Context, orgID string, viewer document.Viewer, w dashboard.Window) (*dashboard.Raw, error) {
	if orgID == "" || viewer.UserID == "" {
		return nil, document.Errorf(document.EINVALID, "dashboard figures need an organization and a viewer")
	}
	return read(db, ctx, func(tx *Tx) (*dashboard.Raw, error) {
		vis, visArgs := visibility(orgID, viewer)
		from := ` FROM documents d JOIN units u ON u.id = d.unit_id WHERE d.org_id = ? AND ` + vis
		base := append([]any{orgID}, visArgs...)
		with := func(pre []any, post ...any) []any {
			out := append(append([]any{}, pre...), base...)
			return append(out, post...)
		}
		raw := &dashboard.Raw{}
		open := []any{string(document.StateRegistered), string(document.StateRouted), string(document.StateAssigned), string(document.StateInProgress)}

		var states []struct {
			Direction string `db:"direction"`
			State     string `db:"state"`
			Urgency   string `db:"urgency"`
			N         int    `db:"n"`
		}
		if err := tx.selectRows(ctx, &states, `SELECT d.direction, d.state, d.urgency, COUNT(*) AS n`+from+`
			GROUP BY d.direction, d.state, d.urgency`, with(nil)...); err != nil {
			return nil, dbError("dashboard states", err, "documents")
		}
		for _, s := range states {
			raw.States = append(raw.States, dashboard.StateCount{Direction: document.Direction(s.Direction),
				State: document.State(s.State), Urgency: document.Urgency(s.Urgency), N: s.N})
		}

		var deadlines []struct {
			UnitID    string `db:"unit_id"`
			HandlerID string `db:"handler_id"`
			Overdue   int    `db:"overdue"`
			DueWeek   int    `db:"due_week"`
		}
		now := micros(w.Now)
		if err := tx.selectRows(ctx, &deadlines, `SELECT COALESCE(d.handling_unit_id, d.unit_id) AS unit_id,
				COALESCE(d.handler_id, '') AS handler_id,
				SUM(CASE WHEN d.deadline < ? THEN 1 ELSE 0 END) AS overdue,
				SUM(CASE WHEN d.deadline >= ? THEN 1 ELSE 0 END) AS due_week`+from+`
			AND d.direction = ? AND d.state IN (?, ?, ?, ?) AND d.deadline IS NOT NULL AND d.deadline < ?
			GROUP BY COALESCE(d.handling_unit_id, d.unit_id), COALESCE(d.handler_id, '')`,
			with([]any{now, now}, append(append([]any{string(document.Incoming)}, open...), micros(w.WeekEnd))...)...); err != nil {
			return nil, dbError("dashboard deadlines", err, "documents")
		}
		for _, x := range deadlines {
			raw.Deadlines = append(raw.Deadlines, dashboard.DeadlineCount{UnitID: x.UnitID, HandlerID: x.HandlerID, Overdue: x.Overdue, DueWeek: x.DueWeek})
		}

		var signers []struct {
			SignerID string `db:"signer_id"`
			N        int    `db:"n"`
		}
		if err := tx.selectRows(ctx, &signers, `SELECT d.signer_id, COUNT(*) AS n`+from+`
			AND d.direction = ? AND d.state IN (?, ?) AND d.signer_id IS NOT NULL GROUP BY d.signer_id`,
			with(nil, string(document.Outgoing), string(document.StateAwaitingSignature), string(document.StateSigning))...); err != nil {
			return nil, dbError("dashboard signers", err, "documents")
		}
		for _, x := range signers {
			raw.Signers = append(raw.Signers, dashboard.SignerCount{SignerID: x.SignerID, N: x.N})
		}

		var durations []struct {
			Direction  string        `db:"direction"`
			UnitID     string        `db:"unit_id"`
			TypeCode   string        `db:"type_code"`
			CreatedAt  int64         `db:"created_at"`
			ReceivedAt sql.NullInt64 `db:"received_at"`
			DoneAt     sql.NullInt64 `db:"done_at"`
			Deadline   sql.NullInt64 `db:"deadline"`
		}
		if err := tx.selectRows(ctx, &durations, `SELECT d.direction, COALESCE(d.handling_unit_id, d.unit_id) AS unit_id,
				d.type_code, d.created_at, d.received_at,
				CASE WHEN d.direction = ? THEN d.completed_at ELSE d.issued_at END AS done_at, d.deadline`+from+`
			AND d.created_at >= ? AND d.created_at < ?
			AND ((d.direction = ? AND d.state IN (?, ?)) OR (d.direction = ? AND d.state IN (?, ?)))`,
			with([]any{string(document.Incoming)}, micros(w.From), micros(w.To),
				string(document.Incoming), string(document.StateCompleted), string(document.StateArchived),
				string(document.Outgoing), string(document.StateIssued), string(document.StateArchived))...); err != nil {
			return nil, dbError("dashboard durations", err, "documents")
		}
		for _, x := range durations {
			start := x.CreatedAt
			if x.ReceivedAt.Valid {
				start = x.ReceivedAt.Int64
			}
			if !x.DoneAt.Valid {
				continue
			}
			dd := dashboard.Duration{Direction: document.Direction(x.Direction), UnitID: x.UnitID, TypeCode: x.TypeCode,
				Took: time.Duration(x.DoneAt.Int64-start) * time.Microsecond}
			if x.Deadline.Valid && document.Direction(x.Direction) == document.Incoming {
				dd.Allowed = time.Duration(x.Deadline.Int64-start) * time.Microsecond
			}
			raw.Durations = append(raw.Durations, dd)
		}

		if len(w.Months) >= 2 {
			var bucket strings.Builder
			var bargs []any
			bucket.WriteString("CASE")
			for i := 1; i < len(w.Months); i++ {
				bucket.WriteString(" WHEN d.created_at < ? THEN " + strconv.Itoa(i-1))
				bargs = append(bargs, micros(w.Months[i]))
			}
			bucket.WriteString(" END")
			var months []struct {
				Month     int    `db:"month"`
				Direction string `db:"direction"`
				Created   int    `db:"created"`
				Done      int    `db:"done"`
			}
			args := append(append([]any{}, bargs...), string(document.StateCompleted), string(document.StateIssued), string(document.StateArchived))
			args = append(args, base...)
			args = append(args, micros(w.Months[0]), micros(w.Months[len(w.Months)-1]))
			// GROUP BY the select list's positions: the bucket's
			// placeholders would make a repeated expression a different one.
			if err := tx.selectRows(ctx, &months, `SELECT `+bucket.String()+` AS month, d.direction, COUNT(*) AS created,
					SUM(CASE WHEN d.state IN (?, ?, ?) THEN 1 ELSE 0 END) AS done`+from+`
				AND d.created_at >= ? AND d.created_at < ?
				GROUP BY 1, 2`, args...); err != nil {
				return nil, dbError("dashboard months", err, "documents")
			}
			for _, m := range months {
				raw.Months = append(raw.Months, dashboard.MonthCount{Month: m.Month, Direction: document.Direction(m.Direction), Created: m.Created, Done: m.Done})
			}
		}
		return raw, nil
	})
}

var _ dashboard.Source = (*DB)(nil)
