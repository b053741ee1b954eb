package charge

import (
	"encoding/json"
	"math"
	"time"
)

// sessionJSON is a Session as people and scripts read it: durations in seconds, not the
// nanoseconds of time.Duration.
type sessionJSON struct {
	User             string    `json:"user"`
	Product          string    `json:"product"`
	Team             string    `json:"team"`
	State            Phase     `json:"state"`
	Start            time.Time `json:"start"`
	Until            time.Time `json:"until,omitzero"`
	GraceLeftSeconds *float64  `json:"grace_left_seconds,omitempty"`
	UseSeconds       float64   `json:"use_seconds"`
	Procs            int       `json:"procs"`
	Running          bool      `json:"running"`
	IdleSince        time.Time `json:"idle_since,omitzero"`
}

// MarshalJSON writes durations in seconds.
func (s Session) MarshalJSON() ([]byte, error) {
	j := sessionJSON{User: s.User, Product: s.Product, Team: s.Team, State: s.State, Start: s.Start, Until: s.Until,
		UseSeconds: s.Use.Seconds(), Procs: s.Procs, Running: s.Running, IdleSince: s.IdleSince}
	if s.State == PhaseGrace {
		g := s.GraceLeft.Seconds()
		j.GraceLeftSeconds = &g
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Session) UnmarshalJSON(b []byte) error {
	var j sessionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Session{User: j.User, Product: j.Product, Team: j.Team, State: j.State, Start: j.Start, Until: j.Until,
		Use: seconds(j.UseSeconds), Procs: j.Procs, Running: j.Running, IdleSince: j.IdleSince}
	if j.GraceLeftSeconds != nil {
		s.GraceLeft = seconds(*j.GraceLeftSeconds)
	}
	return nil
}

func seconds(f float64) time.Duration { return time.Duration(math.Round(f * float64(time.Second))) }
