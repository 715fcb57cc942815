package document

import (
	"sort"
	"strings"
)

// State is where a document is in its flow.
type State string

// Outgoing states, in flow order.
const (
	StateDraft             State = "draft"
	StateInReview          State = "in_review"
	StateAwaitingSignature State = "awaiting_signature"
	StateSigning           State = "signing"
	StateSigned            State = "signed"
	StateNumbered          State = "numbered"
	StateSealed            State = "sealed"
	StateIssued            State = "issued"
	StateArchived          State = "archived" // also the end of the incoming flow
	StateWithdrawn         State = "withdrawn"
)

// Incoming states, in flow order.
const (
	StateRegistered State = "registered"
	StateRouted     State = "routed"
	StateAssigned   State = "assigned"
	StateInProgress State = "in_progress"
	StateCompleted  State = "completed"
)

// Action is a step that moves a document from one state to another.
type Action string

const (
	ActionSubmit        Action = "submit"         // drafter sends for review
	ActionReturn        Action = "return"         // reviewer or signer sends back to the drafter
	ActionApprove       Action = "approve"        // the last reviewer approves
	ActionStartSigning  Action = "start_signing"  // a signing session begins
	ActionSigningFailed Action = "signing_failed" // the session failed, was refused or expired
	ActionSign          Action = "sign"           // the leader's signed PDF is recorded
	ActionNumber        Action = "number"         // the clerk assigns number and date
	ActionSeal          Action = "seal"           // the clerk applies the organization's signature
	ActionIssue         Action = "issue"          // delivered to recipients
	ActionArchive       Action = "archive"
	ActionWithdraw      Action = "withdraw"

	ActionRoute    Action = "route"    // the clerk presents it to a leader
	ActionAssign   Action = "assign"   // the leader names a handler and a deadline
	ActionStart    Action = "start"    // the handler starts work
	ActionComplete Action = "complete" // the handler finishes
)

type transitionKey struct {
	dir  Direction
	from State
	act  Action
}

// transitions is the whole state machine in one table.
var transitions = map[transitionKey]State{
	{Outgoing, StateDraft, ActionSubmit}:                   StateInReview,
	{Outgoing, StateInReview, ActionReturn}:                StateDraft,
	{Outgoing, StateInReview, ActionApprove}:               StateAwaitingSignature,
	{Outgoing, StateAwaitingSignature, ActionReturn}:       StateDraft,
	{Outgoing, StateAwaitingSignature, ActionStartSigning}: StateSigning,
	{Outgoing, StateSigning, ActionSigningFailed}:          StateAwaitingSignature,
	{Outgoing, StateSigning, ActionSign}:                   StateSigned,
	{Outgoing, StateSigned, ActionNumber}:                  StateNumbered,
	{Outgoing, StateNumbered, ActionSeal}:                  StateSealed,
	{Outgoing, StateSealed, ActionIssue}:                   StateIssued,
	{Outgoing, StateIssued, ActionArchive}:                 StateArchived,
	{Outgoing, StateDraft, ActionWithdraw}:                 StateWithdrawn,
	{Outgoing, StateInReview, ActionWithdraw}:              StateWithdrawn,
	{Outgoing, StateAwaitingSignature, ActionWithdraw}:     StateWithdrawn,

	{Incoming, StateRegistered, ActionRoute}:    StateRouted,
	{Incoming, StateRouted, ActionAssign}:       StateAssigned,
	{Incoming, StateAssigned, ActionAssign}:     StateAssigned, // reassignment
	{Incoming, StateAssigned, ActionStart}:      StateInProgress,
	{Incoming, StateInProgress, ActionComplete}: StateCompleted,
	{Incoming, StateCompleted, ActionArchive}:   StateArchived,
}

// InitialState is the state a new document of direction dir starts in.
func InitialState(dir Direction) State {
	if dir == Incoming {
		return StateRegistered
	}
	return StateDraft
}

// Next returns the state that action a leads to from state from, or an
// ErrConflict error that says which states allow a.
func Next(dir Direction, from State, a Action) (State, error) {
	if to, ok := transitions[transitionKey{dir, from, a}]; ok {
		return to, nil
	}
	var allowed []string
	for k := range transitions {
		if k.dir == dir && k.act == a {
			allowed = append(allowed, string(k.from))
		}
	}
	if len(allowed) == 0 {
		return "", Errorf(ECONFLICT, "%q is not an action on %s documents", a, dirName(dir))
	}
	sort.Strings(allowed)
	return "", Errorf(ECONFLICT, "cannot %s a %s document in state %q (allowed from: %s)",
		a, dirName(dir), from, strings.Join(allowed, ", "))
}

// Can reports whether action a is allowed from state from.
func Can(dir Direction, from State, a Action) bool {
	_, ok := transitions[transitionKey{dir, from, a}]
	return ok
}

// Terminal reports whether no action leads out of s.
func Terminal(dir Direction, s State) bool {
	for k := range transitions {
		if k.dir == dir && k.from == s {
			return false
		}
	}
	return true
}

func dirName(d Direction) string {
	if d == Incoming {
		return "incoming"
	}
	return "outgoing"
}
