package client

import "strings"

// Explain says in words what a failure to reach a ledger means and what to check, from
// the error's text (the agent's status carries it as text). Text it does not know is
// returned as it is.
func Explain(e string) string {
	switch {
	case strings.Contains(e, "connection refused"):
		return "nothing answers there (connection refused): is the ledger running?"
	case strings.Contains(e, "no such host"):
		return "that host name does not resolve: check the ledger's address"
	case strings.Contains(e, "timeout") || strings.Contains(e, "deadline exceeded"):
		return "no answer in time: a firewall or the network may be in the way"
	case strings.Contains(e, "certificate"):
		return "its TLS certificate is not trusted by this computer: " + e
	}
	return e
}
