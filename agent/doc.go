// Package agent is the workstation daemon: it watches product processes, decides each
// launch with the charging rules, closes what is not paid for and tells the user why,
// and journals every charge before acting on it. It owns every goroutine it starts and
// knows nothing of which OS it runs on: that is package platform.
//
// # The path of a launch
//
// A launch travels one way, platform → agent → charge → journal → sync, with no return
// trip: the agent calls each in turn and takes its answer as a return value, and none of
// them imports the agent or calls into another; of each other they know only charge's
// types, the vocabulary of a launch (imports_test.go at the module's root holds them to
// this, for every OS):
//
//   - platform sees the process start: its Source reports a Diff (pid, start time,
//     executable, arguments, owner) to the function the agent gave it, onDiff; on Linux
//     its fanotify gate asks gateDecide before the exec completes. platform imports
//     nothing of tollgate's but its own macapp.
//   - agent matches the executable to the catalogue and the owner to a licensing user
//     (config), and, with a ledger, asks it to authorize and hold the tokens
//     (ledger/client) when the decision would start a grace or deny.
//   - charge decides: Meter.Start (and Advance, Exit, Wake) takes the reading, the
//     process and the entitlements, and returns the effects (session opened, charged,
//     denied, closing). It is pure: no clock, no I/O, no import of the packages after it.
//   - journal keeps the input, the answers the meter was given and its effects, fsynced,
//     before the agent acts on any of them (record, commit): a denied process is closed
//     (platform.Terminate) and the user told (localapi.Message, to status and the
//     notifiers) only after that. journal imports charge's types and nothing else of ours.
//   - sync sends the journal's outbox to the ledger in order (ledger/client) and marks
//     each entry done on the ledger's answer; the ledger client knows charge's types and
//     the ledger's API, not the journal or the agent.
//
// # Who owns what
//
// Run starts and waits for every goroutine: the config watcher and its follower, the
// process source, the tick, the journal retry, the pre-exec gate, the local API
// (localapi.Server, whose handlers call the exported methods Status, Check, Messages,
// Subscribe, Reload and UserOf, never the Agent's fields) and the sync loop, which a
// push replaces (rebuild.go). Agent's fields say which of them own which state.
package agent
