package verify

import (
	"bytes"
	"encoding/json"
	"testing"

	"vanban/signing/pades"
	"vanban/signing/revocation"
)

// TestReportJSONRoundTrip: "vanban pdf verify --json" hands the report to
// other programs, so it must decode back into a Report without loss,
// revocation states included.
func TestReportJSONRoundTrip(t *testing.T) {
	w := newWorld(t)
	src := corpusPDF(t, "libreoffice-writer.pdf")
	signed := sign(t, src, w.key, w.chain, pades.Options{Level: pades.LevelBLTA, TSA: w.tsa(), Revocation: w.collector()})
	rep := check(t, signed, Options{Roots: w.pki.Roots()})
	if len(rep.Signatures) != 2 || len(rep.Signatures[0].Revocation) == 0 {
		t.Fatalf("want a signature with revocation results and a document time-stamp, got %+v", rep.Signatures)
	}
	first, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(first, &back); err != nil {
		t.Fatalf("the JSON report does not decode: %v", err)
	}
	if got := back.Signatures[0].Revocation[0].Status.State; got != revocation.Good {
		t.Errorf("revocation state after the round trip: %v, want good", got)
	}
	second, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("the report changed in a JSON round trip:\n%s\n%s", first, second)
	}

	var s revocation.State
	if err := json.Unmarshal([]byte(`"maybe"`), &s); err == nil {
		t.Error("an unknown revocation state decoded without error")
	}
}
