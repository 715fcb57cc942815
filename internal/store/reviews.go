package store

import (
	"context"
	"database/sql"
	"time"

	"vanban/internal/document"
)

type reviewRow struct {
	DocumentID string        `db:"document_id"`
	Round      int           `db:"round"`
	Seq        int           `db:"seq"`
	ReviewerID string        `db:"reviewer_id"`
	Decision   string        `db:"decision"`
	Comment    string        `db:"comment"`
	DecidedAt  sql.NullInt64 `db:"decided_at"`
}

// StartReviewRound opens a new review round on a document with reviewers in
// the order given and returns its steps. Returns EINVALID for an empty list
// or an unknown reviewer.
func (tx *Tx) StartReviewRound(ctx context.Context, documentID string, reviewerIDs []string) ([]document.ReviewStep, error) {
	if len(reviewerIDs) == 0 {
		return nil, document.Errorf(document.EINVALID, "a review needs at least one reviewer")
	}
	var last sql.NullInt64
	if err := tx.get(ctx, &last, `SELECT MAX(round) FROM review_steps WHERE document_id = ?`, documentID); err != nil {
		return nil, dbError("start review", err, "review")
	}
	round := int(last.Int64) + 1
	steps := make([]document.ReviewStep, len(reviewerIDs))
	for i, id := range reviewerIDs {
		steps[i] = document.ReviewStep{DocumentID: documentID, Round: round, Seq: i + 1, ReviewerID: id}
		if _, err := tx.exec(ctx, `INSERT INTO review_steps (document_id, round, seq, reviewer_id) VALUES (?, ?, ?, ?)`,
			documentID, round, i+1, id); err != nil {
			return nil, dbError("start review", err, "reviewer "+id)
		}
	}
	return steps, nil
}

// ReviewRound returns the steps of the latest review round of a document,
// in order; nil when it was never submitted.
func (db *DB) ReviewRound(ctx context.Context, documentID string) ([]document.ReviewStep, error) {
	return read(db, ctx, func(tx *Tx) ([]document.ReviewStep, error) { return tx.ReviewRound(ctx, documentID) })
}

// ReviewRound is the transactional form of DB.ReviewRound.
func (tx *Tx) ReviewRound(ctx context.Context, documentID string) ([]document.ReviewStep, error) {
	var rows []reviewRow
	if err := tx.selectRows(ctx, &rows, `SELECT document_id, round, seq, reviewer_id, decision, comment, decided_at
		FROM review_steps WHERE document_id = ?
		AND round = (SELECT MAX(round) FROM review_steps WHERE document_id = ?)
		ORDER BY seq`, documentID, documentID); err != nil {
		return nil, dbError("review round", err, "review")
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]document.ReviewStep, len(rows))
	for i, r := range rows {
		out[i] = document.ReviewStep{DocumentID: r.DocumentID, Round: r.Round, Seq: r.Seq, ReviewerID: r.ReviewerID,
			Decision: document.ReviewDecision(r.Decision), Comment: r.Comment, DecidedAt: fromNullMicros(r.DecidedAt)}
	}
	return out, nil
}

// DecideReview records a reviewer's decision on a pending step. Returns
// ECONFLICT when the step was already decided, ENOTFOUND when it does not
// exist.
func (tx *Tx) DecideReview(ctx context.Context, documentID string, round, seq int, decision document.ReviewDecision, comment string, at time.Time) error {
	if decision != document.ReviewApproved && decision != document.ReviewReturned {
		return document.Errorf(document.EINVALID, "review decision %q is not approved or returned", decision)
	}
	res, err := tx.exec(ctx, `UPDATE review_steps SET decision = ?, comment = ?, decided_at = ?
		WHERE document_id = ? AND round = ? AND seq = ? AND decision = ''`,
		string(decision), comment, micros(at), documentID, round, seq)
	if err != nil {
		return dbError("decide review", err, "review step")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var count int
		if err := tx.get(ctx, &count, `SELECT COUNT(*) FROM review_steps WHERE document_id = ? AND round = ? AND seq = ?`,
			documentID, round, seq); err != nil {
			return dbError("decide review", err, "review step")
		}
		if count == 0 {
			return document.Errorf(document.ENOTFOUND, "review step %d/%d of document %s not found", round, seq, documentID)
		}
		return document.Errorf(document.ECONFLICT, "review step %d/%d of document %s is already decided", round, seq, documentID)
	}
	return nil
}
