package main

import (
	"context"

	"vanban/internal/archive"
	"vanban/internal/document"
	"vanban/internal/store"
	"vanban/internal/workflow"
)

// recordsWorkflow is the document use cases with archiving done by the
// archive service: raise the final PDF to B-LTA and retain every stored
// object before the state changes. The API and the pages use it in place
// of the bare workflow.
type recordsWorkflow struct {
	*workflow.Service[*store.Tx]
	archive *archive.Service
}

// Archive implements httpapi.Workflow.
func (w *recordsWorkflow) Archive(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error) {
	return w.archive.Archive(ctx, a, docID)
}
