package web

import (
	"slices"
	"strings"

	"vanban/internal/document"
)

// draftFields are the parts of the new-draft form and of a draft's page
// that name how it is signed and where it goes: the signing capacity and
// the person signed for, and the recipients (Nơi nhận).
type draftFields struct {
	Capacity, Principal string
	// RecipientUnits are the units that can be chosen; Chosen the ones that
	// are.
	RecipientUnits []*document.Unit
	Chosen         []string
	// RecipientNamesText is the external recipients, one per line.
	RecipientNamesText string
	// ErrorField is the field the form's error is about.
	ErrorField string
}

// Capacities are the signing capacities offered, in person first.
func (draftFields) Capacities() []document.Capacity {
	return []document.Capacity{document.CapacityInPerson, document.CapacityTM, document.CapacityKT, document.CapacityTL,
		document.CapacityTUQ, document.CapacityQ}
}

// RecipientChosen reports whether unit id is among the recipients.
func (f draftFields) RecipientChosen(id string) bool { return slices.Contains(f.Chosen, id) }

// recipientNames splits the external recipients' text area into names.
func recipientNames(text string) []string {
	return strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
}

// formValues are the fields of a refused form, shown again.
type formValues map[string][]string

// Get is the first value of field k ("" when none): templates call it on
// a page shown without an error too.
func (v formValues) Get(k string) string {
	if vs := v[k]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// fieldErrors is what a page's data says about the field its error is
// about.
type fieldErrors interface {
	FieldError() (field, msg, detail string)
}

// shownFieldError is the data of the "fielderror" partial.
type shownFieldError struct {
	Show                   bool
	Field, Message, Detail string
}

// fieldErr is the template helper that puts a form's error beside its
// field; the banner above the form names it too, for people who start
// reading at the top.
func fieldErr(d any, field string) shownFieldError {
	fe, ok := d.(fieldErrors)
	if !ok {
		return shownFieldError{Field: field}
	}
	f, msg, detail := fe.FieldError()
	return shownFieldError{Show: f == field && msg != "", Field: field, Message: msg, Detail: detail}
}

func urgencies() []string {
	return []string{string(document.UrgencyNormal), string(document.UrgencyUrgent), string(document.UrgencyVery), string(document.UrgencyFlash)}
}
