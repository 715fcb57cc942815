package signsession_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"vanban/internal/document"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing/pades"
)

// A drafter places the number, date and signature for a letterhead the
// default does not fit; the session signs with that layout, and the layout
// is fixed once signing starts.
func TestDocumentLayout(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		d := e.awaiting(e.signer, "Quyết định có tiêu đề riêng")
		l := signsession.DefaultLayout()
		l.SignaturePage = 1
		l.Number = pades.Rect{LLX: 100, LLY: 690, URX: 260, URY: 708}
		l.Date = pades.Rect{LLX: 320, LLY: 690, URX: 560, URY: 708}

		bad := l
		bad.Number = pades.Rect{LLX: 300, LLY: 700, URX: 200, URY: 720}
		wantCode(t, e.svc.SetLayout(ctx, as(e.drafter), d.ID, bad), document.EINVALID)
		bad = l
		bad.FontSize = 90
		wantCode(t, e.svc.SetLayout(ctx, as(e.drafter), d.ID, bad), document.EINVALID)
		wantCode(t, e.svc.SetLayout(ctx, as(e.reviewer), d.ID, l), document.EFORBIDDEN)
		e.must(e.svc.SetLayout(ctx, as(e.drafter), d.ID, l))
		got, err := e.svc.Layout(ctx, as(e.signer), d.ID)
		e.must(err)
		if !reflect.DeepEqual(got, l) {
			t.Fatalf("layout %+v, want %+v", got, l)
		}
		// A new layout after approval sends the draft back: review again.
		if st := e.doc(d.ID).Document.State; st != document.StateDraft {
			t.Fatalf("a layout set after approval left the document %s", st)
		}
		e.reapprove(d.ID)

		s, err := e.svc.StartLeader(ctx, as(e.signer), d.ID)
		e.must(err)
		stored, err := db.SigningSession(ctx, s.ID)
		e.must(err)
		var opts struct{ Layout signsession.Layout }
		e.must(json.Unmarshal([]byte(stored.OptionsJSON), &opts))
		if !reflect.DeepEqual(opts.Layout, l) {
			t.Errorf("session layout %+v, want the document's %+v", opts.Layout, l)
		}
		wantCode(t, e.svc.SetLayout(ctx, as(e.drafter), d.ID, signsession.DefaultLayout()), document.ECONFLICT)
		s = e.settle(e.svc, s.ID, e.signer)
		if s.State != store.SigningCompleted {
			t.Fatalf("settled %+v", s)
		}
		// Numbering fills the fields where the drafter put them.
		_, err = e.svc.NumberAndDate(ctx, as(e.clerk), d.ID)
		e.must(err)
	})
}
