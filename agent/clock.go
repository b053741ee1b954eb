package agent

import (
	"tollgate/charge"
	tclock "tollgate/clock" // named so: message.go's clock() says a time of day
)

// readClock is the clock as the meter reads it: wall and monotonic at one instant.
func readClock(c tclock.Clock) charge.Reading {
	w, m := c.Read()
	return charge.Reading{Wall: w, Mono: m}
}
