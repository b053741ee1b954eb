// Package charge is tollgate's charging rules as pure code: sessions, the five-minute
// grace, 24-hour windows, renewals, holds, launch decisions, and the token pool with its
// packs. It does no I/O, reads no clock and logs nothing: time is always an input, so the
// agent, the ledger and the simulator reach the same answer from the same facts.
//
// The rules are docs/charging.md; where that page is silent, the choices made
// here are written down in docs/rules.md.
package charge
