package signsession

import (
	"errors"
	"testing"

	"vanban/signing/pades"
)

func TestChooseLevel(t *testing.T) {
	for _, tc := range []struct {
		configured string
		tsa        bool
		want       pades.Level
		err        bool
	}{
		{"", false, pades.LevelBB, false},
		{"", true, pades.LevelBT, false},
		{"B-B", true, pades.LevelBB, false},
		{"B-LTA", true, pades.LevelBLTA, false},
		{"B-LT", false, 0, true},
		{"B-T", false, 0, true},
		{"B-X", true, 0, true},
	} {
		got, err := ChooseLevel(tc.configured, tc.tsa)
		if (err != nil) != tc.err || (err == nil && got != tc.want) {
			t.Errorf("ChooseLevel(%q, %v) = %v, %v; want %v, error %v", tc.configured, tc.tsa, got, err, tc.want, tc.err)
		}
		if tc.err && tc.configured != "B-X" && !errors.Is(err, ErrLevelNeedsTSA) {
			t.Errorf("ChooseLevel(%q, no TSA): %v, want ErrLevelNeedsTSA", tc.configured, err)
		}
	}
}
