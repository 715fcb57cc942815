package signsession

import (
	"errors"

	"vanban/signing/pades"
)

// ErrLevelNeedsTSA refuses a PAdES level of B-T or above on a server
// without a time-stamping authority: such a signature could not be made.
var ErrLevelNeedsTSA = errors.New("this PAdES level needs a time-stamping authority (VANBAN_TSA_URL)")

// ChooseLevel is the PAdES level of new signatures: the configured one
// (a name such as "B-LT"), or, when none is, B-T when a time-stamping
// authority is available and B-B otherwise. A level that needs a time
// stamp without one is refused (ErrLevelNeedsTSA), as is an unknown name.
func ChooseLevel(configured string, haveTSA bool) (pades.Level, error) {
	level := pades.LevelBB
	if haveTSA {
		level = pades.LevelBT
	}
	if configured != "" {
		var err error
		if level, err = pades.ParseLevel(configured); err != nil {
			return 0, err
		}
	}
	if level >= pades.LevelBT && !haveTSA {
		return 0, ErrLevelNeedsTSA
	}
	return level, nil
}
