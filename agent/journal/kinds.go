package journal

import "strings"

// Kind is what an input told the meter. The names are the journal's format on disk:
// journals written before these constants existed use the same words.
type Kind string

const (
	Start     Kind = "start"   // a process of a product started
	Exit      Kind = "exit"    // one ended
	Advance   Kind = "advance" // the clock moved on (a tick)
	Sleep     Kind = "sleep"   // the machine went to sleep
	Wake      Kind = "wake"    // and woke
	Learn     Kind = "learn"   // the ledger said which window stands
	Recheck   Kind = "recheck" // a user's entitlement changed while their sessions run
	Policy    Kind = "policy"  // a push changed the policy
	InputIdle Kind = "input"   // a user's desktop reported how long it had no input (idleness)
	Busy      Kind = "busy"    // a product's processes used CPU: it is in use
	Nightly   Kind = "nightly" // policy.nightly_close's warning or close instant passed
)

// Answer is the ledger's answer to an entry, as the journal keeps it: one of the
// ledger's statuses (api.Accepted, api.Duplicate, api.Folded), Held, or a refusal with
// its reason (Refused). Like Kind, the words are the format on disk.
type Answer string

// Held answers a hold the ledger placed when it authorized the launch, before the
// meter's Held effect was journaled: it is not sent again.
const Held Answer = "held"

const refusedPrefix = "refused: "

// Refused is the answer to an entry the ledger refused, why being the ledger's reason.
func Refused(why string) Answer { return Answer(refusedPrefix + why) }

// Refusal is the ledger's reason when a refused the entry.
func (a Answer) Refusal() (why string, ok bool) {
	if why, ok = strings.CutPrefix(string(a), refusedPrefix); !ok {
		return "", false
	}
	return why, true
}
