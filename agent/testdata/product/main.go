// Command product stands in for a licensed product in the agent's tests. Its first act
// is to create the marker file named by TOLLGATE_MARKER, so a test can tell whether it
// ever ran; then it waits to be closed.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if m := os.Getenv("TOLLGATE_MARKER"); m != "" {
		f, err := os.Create(m)
		if err != nil {
			os.Exit(1)
		}
		f.Close()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
