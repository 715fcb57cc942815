package store

import (
	"context"
	"slices"
	"strings"

	"vanban/internal/document"
)

// SearchDocuments returns one page of the documents matching q that
// q.Viewer may see, newest first, continuing after (q.AfterCreated,
// q.AfterID) when set. Returns EINVALID without an organization or viewer.
func (db *DB) SearchDocuments(ctx context.Context, q document.Query) ([]*document.Document, error) {
	return read(db, ctx, func(tx *Tx) ([]*document.Document, error) { return tx.SearchDocuments(ctx, q) })
}

// SearchDocuments is the transactional form of DB.SearchDocuments.
func (tx *Tx) SearchDocuments(ctx context.Context, q document.Query) ([]*document.Document, error) {
	if q.OrgID == "" || q.Viewer.UserID == "" {
		return nil, document.Errorf(document.EINVALID, "a search needs an organization and a viewer")
	}
	var where []string
	var args []any
	cond := func(c string, a ...any) {
		where = append(where, c)
		args = append(args, a...)
	}
	cond("d.org_id = ?", q.OrgID)
	if q.Direction != "" {
		cond("d.direction = ?", string(q.Direction))
	}
	if len(q.States) > 0 {
		ph := make([]string, len(q.States))
		for i, s := range q.States {
			ph[i] = "?"
			args = append(args, string(s))
		}
		where = append(where, "d.state IN ("+strings.Join(ph, ", ")+")")
	}
	if q.UnitID != "" {
		// The unit or any unit below it: a prefix test on the path.
		cond("u.path LIKE (SELECT path FROM units WHERE id = ?) || '%'", q.UnitID)
	}
	if q.TypeCode != "" {
		cond("d.type_code = ?", q.TypeCode)
	}
	if q.Number > 0 {
		cond("d.number = ?", q.Number)
	}
	if q.Symbol != "" {
		cond("(d.symbol = ? OR d.sender_symbol = ?)", q.Symbol, q.Symbol)
	}
	for col, v := range map[string]string{"signer_id": q.SignerID, "leader_id": q.LeaderID, "handler_id": q.HandlerID, "created_by": q.CreatedBy} {
		if v != "" {
			cond("d."+col+" = ?", v)
		}
	}
	if q.ReviewerID != "" {
		// The reviewer's step is pending when it is undecided, in the
		// latest round, and every earlier step of that round is decided.
		// Written as IN over the reviewer's own undecided steps
		// (review_steps_reviewer) so the database starts from those few
		// rows rather than probing every document of the organization.
		cond(`d.id IN (SELECT r.document_id FROM review_steps r WHERE r.reviewer_id = ? AND r.decision = ''
			AND r.round = (SELECT MAX(r3.round) FROM review_steps r3 WHERE r3.document_id = r.document_id)
			AND NOT EXISTS (SELECT 1 FROM review_steps r2 WHERE r2.document_id = r.document_id AND r2.round = r.round
				AND r2.seq < r.seq AND r2.decision = ''))`, q.ReviewerID)
	}
	if t := document.Fold(q.Text); t != "" {
		for _, word := range strings.Fields(t) {
			cond("d.search_text LIKE ? ESCAPE '\\'", "%"+escapeLike(word)+"%")
		}
	}
	if !q.From.IsZero() {
		cond("d.created_at >= ?", micros(q.From))
	}
	if !q.To.IsZero() {
		cond("d.created_at < ?", micros(q.To))
	}
	if q.Urgency != "" {
		cond("d.urgency = ?", string(q.Urgency))
	}
	if q.HandlingUnitID != "" {
		cond("COALESCE(d.handling_unit_id, d.unit_id) = ?", q.HandlingUnitID)
	}
	if !q.DueFrom.IsZero() {
		cond("d.deadline >= ?", micros(q.DueFrom))
	}
	if !q.OverdueAt.IsZero() {
		cond("d.direction = ? AND d.deadline IS NOT NULL AND d.deadline < ? AND d.state NOT IN (?, ?)",
			string(document.Incoming), micros(q.OverdueAt), string(document.StateCompleted), string(document.StateArchived))
	}
	vis, visArgs := visibility(q.OrgID, q.Viewer)
	where = append(where, vis)
	args = append(args, visArgs...)
	if !q.AfterCreated.IsZero() || q.AfterID != "" {
		cond("(d.created_at < ? OR (d.created_at = ? AND d.id > ?))", micros(q.AfterCreated), micros(q.AfterCreated), q.AfterID)
	}
	limit := q.Limit
	if limit <= 0 || limit > document.MaxPageSize {
		limit = document.MaxPageSize
	}
	args = append(args, limit)
	cols := qualifySigningColumns("d.", documentColumns)
	var rows []documentRow
	if err := tx.selectRows(ctx, &rows, `SELECT `+cols+` FROM documents d JOIN units u ON u.id = d.unit_id WHERE `+
		strings.Join(where, " AND ")+` ORDER BY d.created_at DESC, d.id LIMIT ?`, args...); err != nil {
		return nil, dbError("search documents", err, "documents")
	}
	return documentsOf(rows), nil
}

// visibility is the condition, on documents d joined with their unit u,
// that viewer may see a document of organization orgID, and its arguments.
// SearchDocuments and the dashboard's figures use the same rule, so a
// count never includes a document its list would not show.
func visibility(orgID string, viewer document.Viewer) (string, []any) {
	// A role at the organization's root unit covers every unit, and
	// every handling unit, of the organization: the clerks of the whole
	// organization see all its documents, the others all its ordinary
	// ones. Said so directly, the condition costs nothing per row, where
	// the general one below is a chain of LIKEs and subqueries.
	root := "/" + orgID + "/"
	if slices.Contains(viewer.ClerkPaths, root) {
		return "1 = 1", nil
	}
	var args []any
	if slices.Contains(viewer.UnitPaths, root) {
		viewer.UnitPaths = []string{root}
	}
	// Visibility, as workflow's canView: an ordinary document for the
	// people of its unit or handling unit (a grant there or above: a
	// prefix of the unit's path) and the people named on it; a secret one
	// for the people named on it, its reviewers and the clerks of its
	// unit. The reviewer rule is an uncorrelated IN, evaluated once per
	// query (a hashed subplan on PostgreSQL), not once per candidate row,
	// and it starts from the organization's few secret documents (the
	// partial index documents_secret; hence the literal), not from the
	// reviewer's steps, which for a busy reviewer number in the tens of
	// thousands.
	vis := []string{"d.created_by = ?", "d.signer_id = ?", "d.leader_id = ?", "d.handler_id = ?",
		`d.id IN (SELECT sd.id FROM documents sd JOIN review_steps rv ON rv.document_id = sd.id
			WHERE sd.org_id = ? AND sd.confidentiality <> 'thuong' AND rv.reviewer_id = ?)`}
	args = append(args, viewer.UserID, viewer.UserID, viewer.UserID, viewer.UserID, orgID, viewer.UserID)
	if slices.Contains(viewer.UnitPaths, root) {
		vis = append(vis, "d.confidentiality = ?")
		args = append(args, string(document.ConfidentialityNormal))
	} else if len(viewer.UnitPaths) > 0 {
		var cover []string
		args = append(args, string(document.ConfidentialityNormal))
		for _, p := range viewer.UnitPaths {
			cover = append(cover, "u.path LIKE ? ESCAPE '\\'",
				"d.handling_unit_id IN (SELECT hu.id FROM units hu WHERE hu.path LIKE ? ESCAPE '\\')")
			args = append(args, escapeLike(p)+"%", escapeLike(p)+"%")
		}
		vis = append(vis, "(d.confidentiality = ? AND ("+strings.Join(cover, " OR ")+"))")
	}
	for _, p := range viewer.ClerkPaths {
		vis = append(vis, "u.path LIKE ? ESCAPE '\\'")
		args = append(args, escapeLike(p)+"%")
	}
	return "(" + strings.Join(vis, " OR ") + ")", args
}

// escapeLike escapes the LIKE wildcards in s, with backslash as the escape
// character, so user text matches literally.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
