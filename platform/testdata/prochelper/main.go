// Command prochelper stands in for a product in the platform package's process tests. It
// prints "ready" once set up, then runs until its stdin closes.
//
//	prochelper wait           dies of SIGTERM
//	prochelper handle-term    exits with status 0 on SIGTERM
//	prochelper ignore-term    ignores SIGTERM
//	prochelper ignore-hup     ignores SIGHUP, which tests use as a polite request to close
//	prochelper ignore-both    ignores SIGHUP and SIGTERM
//	prochelper exec PATH ARG  waits for a line on stdin, then runs PATH ARG by exec, in place
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: prochelper wait|handle-term|ignore-term|ignore-hup|ignore-both|exec PATH ARG")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "wait":
	case "handle-term":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		go func() {
			<-term
			os.Exit(0)
		}()
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
	case "ignore-hup":
		signal.Ignore(syscall.SIGHUP)
	case "ignore-both":
		signal.Ignore(syscall.SIGHUP, syscall.SIGTERM)
	case "exec":
		fmt.Println("ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			os.Exit(1)
		}
		err := syscall.Exec(os.Args[2], os.Args[2:], os.Environ())
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
}
