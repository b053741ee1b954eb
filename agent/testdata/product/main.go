// Command product stands in for a licensed product in the agent's tests. Its first act
// is to create the marker file named by TOLLGATE_MARKER, so a test can tell whether it
// ever ran; then it waits to be closed. With TOLLGATE_IGNORE_TERM=1 it stays open when
// asked to close with SIGTERM, as a product at its "save changes?" prompt does; with
// TOLLGATE_SPIN=1 it uses a fifth of a CPU, as a product rendering does.
package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if m := os.Getenv("TOLLGATE_MARKER"); m != "" {
		f, err := os.Create(m)
		if err != nil {
			os.Exit(1)
		}
		f.Close()
	}
	if os.Getenv("TOLLGATE_SPIN") == "1" {
		// At work with nobody at the keyboard (a render): a fifth of a CPU.
		go func() {
			for {
				for end := time.Now().Add(10 * time.Millisecond); time.Now().Before(end); {
				}
				time.Sleep(40 * time.Millisecond)
			}
		}()
	}
	sig := make(chan os.Signal, 1)
	if os.Getenv("TOLLGATE_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
		signal.Notify(sig, syscall.SIGINT)
	} else {
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	}
	<-sig
}
