package mssp

import (
	"fmt"
	"strconv"
)

// Scenario is the behaviour of a scenario phone number (see the package doc).
type Scenario int

const (
	// ScenarioNone: an ordinary number, driven by the phone page.
	ScenarioNone          Scenario = 0
	ScenarioApprove       Scenario = 500
	ScenarioDecline       Scenario = 401
	ScenarioTimeout       Scenario = 208
	ScenarioAbsent        Scenario = 209
	ScenarioPINBlocked    Scenario = 402
	ScenarioNoCertificate Scenario = 422
	ScenarioNoKey         Scenario = 404
	ScenarioBusy          Scenario = 406
	ScenarioWrongKey      Scenario = 990
	ScenarioOtherDigest   Scenario = 991
)

var scenarioNames = map[Scenario]string{
	ScenarioApprove:       "approve",
	ScenarioDecline:       "decline",
	ScenarioTimeout:       "timeout",
	ScenarioAbsent:        "absent",
	ScenarioPINBlocked:    "pin-blocked",
	ScenarioNoCertificate: "no-certificate",
	ScenarioNoKey:         "no-key",
	ScenarioBusy:          "busy",
	ScenarioWrongKey:      "wrong-key",
	ScenarioOtherDigest:   "other-digest",
}

func (s Scenario) String() string {
	if n, ok := scenarioNames[s]; ok {
		return n
	}
	return "none"
}

// Scenarios lists every scenario, for documentation pages and tests.
func Scenarios() []Scenario {
	return []Scenario{ScenarioApprove, ScenarioDecline, ScenarioTimeout, ScenarioAbsent, ScenarioPINBlocked,
		ScenarioNoCertificate, ScenarioNoKey, ScenarioBusy, ScenarioWrongKey, ScenarioOtherDigest}
}

// ScenarioMSISDN returns the phone number of scenario s with a P-256 key
// (ec) or an RSA-2048 key.
func ScenarioMSISDN(s Scenario, ec bool) string {
	k := 2
	if ec {
		k = 1
	}
	return fmt.Sprintf("8490%03d000%d", int(s), k)
}

func scenarioOf(msisdn string) Scenario {
	if len(msisdn) != 11 || msisdn[:4] != "8490" || msisdn[7:10] != "000" {
		return ScenarioNone
	}
	n, err := strconv.Atoi(msisdn[4:7])
	if err != nil {
		return ScenarioNone
	}
	if _, ok := scenarioNames[Scenario(n)]; !ok {
		return ScenarioNone
	}
	return Scenario(n)
}
