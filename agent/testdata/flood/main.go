// Command flood opens as many event streams on the agent's socket as it is let, and
// keeps reopening them, as a hostile local user would. Every 100 ms it prints
// "tried=N open=N max=N refused=N".
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	socket := flag.String("socket", "", "the agent's socket")
	n := flag.Int("streams", 1000, "streams to keep open at once")
	flag.Parse()
	var tried, open, most, refused atomic.Int64
	for range *n {
		go func() {
			for {
				tried.Add(1)
				c, err := net.Dial("unix", *socket)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				fmt.Fprint(c, "GET /v0/events HTTP/1.1\r\nHost: tollgate\r\n\r\n")
				br := bufio.NewReader(c)
				status, err := br.ReadString('\n')
				if err != nil || !strings.Contains(status, " 200 ") {
					refused.Add(1)
					c.Close()
					time.Sleep(50 * time.Millisecond)
					continue
				}
				if o := open.Add(1); o > most.Load() {
					most.Store(o) // racy max; good enough for a report
				}
				for {
					if _, err := br.ReadByte(); err != nil {
						break
					}
				}
				open.Add(-1)
				c.Close()
			}
		}()
	}
	for {
		time.Sleep(100 * time.Millisecond)
		fmt.Printf("tried=%d open=%d max=%d refused=%d\n", tried.Load(), open.Load(), most.Load(), refused.Load())
	}
}
