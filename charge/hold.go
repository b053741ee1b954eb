package charge

import (
	"strings"
	"time"
)

// A hold is tokens a pool sets aside for a session in grace until it is charged or
// released. Its id is made here only, one constructor for each way of naming one, so that
// the agent, the ledger and the simulator name a hold alike. A device names its holds;
// the device is part of the name because two devices may hold for the same user and
// product at once.

// LaunchHold names the hold a device asks the ledger for when a launch would open a
// grace, before its meter decides: by the device and the launching process's id.
func LaunchHold(device, proc string) string { return device + "|" + proc }

// WindowHold names the hold of a session whose caller placed none (the simulator, an
// agent offline): by the device and the window the session would be charged for.
func WindowHold(device string, k Key) string { return device + "|" + k.String() }

// LedgerHold is the name a ledger keeps a hold under: the hold as the device named it,
// within the device the ledger enrolled, so that no device settles another's hold.
func LedgerHold(enrolled, hold string) string { return enrolled + "/" + hold }

// ParseWindowHold reads a WindowHold name back; ok is false for other names (a launch's).
func ParseWindowHold(id string) (device string, k Key, ok bool) {
	device, rest, ok := strings.Cut(id, "|")
	if !ok {
		return "", Key{}, false
	}
	f := strings.Split(rest, "/")
	if len(f) != 4 {
		return "", Key{}, false
	}
	start, err := time.Parse(time.RFC3339Nano, f[3])
	if err != nil {
		return "", Key{}, false
	}
	return device, Key{Team: f[0], User: f[1], Product: f[2], Start: start}, true
}
