package notifier

import (
	"time"

	"tollgate/agent/localapi"
)

// shown remembers, by the agent's clock, what the user has already been shown, so that
// catching up after a reconnection neither repeats nor skips a message. A message is
// known by its time and its words: the agent's clock never runs backwards, and two
// messages alike in both are one notice to the person anyway.
type shown struct {
	mark   time.Time   // the latest time of a message seen
	atMark map[key]int // copies of each message at mark seen
	echoes map[key]int // copies shown in the last catch-up, which the stream may bring again
}

type key struct {
	at                   int64
	kind                 localapi.MessageKind
	product, title, body string
}

func keyOf(m localapi.Message) key {
	return key{m.At.UnixNano(), m.Kind, m.Product, m.Title, m.Body}
}

// baseline takes what the agent said before the first connection as seen.
func (s *shown) baseline(ms []localapi.Message) {
	for _, m := range ms {
		s.note(m)
	}
}

// catchUp returns the messages of the agent's list ms (oldest first) that were not seen,
// and remembers them as seen.
func (s *shown) catchUp(ms []localapi.Message) []localapi.Message {
	mark, atMark := s.mark, s.atMark
	consumed := map[key]int{}
	s.echoes = map[key]int{}
	var out []localapi.Message
	for _, m := range ms {
		k := keyOf(m)
		if m.At.Before(mark) {
			continue
		}
		if m.At.Equal(mark) && consumed[k] < atMark[k] {
			consumed[k]++
			continue
		}
		out = append(out, m)
		s.echoes[k]++
	}
	for _, m := range out {
		s.note(m)
	}
	return out
}

// fromStream says whether a message from the stream is news, and remembers it.
func (s *shown) fromStream(m localapi.Message) bool {
	k := keyOf(m)
	if s.echoes[k] > 0 {
		s.echoes[k]--
		return false
	}
	s.note(m)
	return true
}

func (s *shown) note(m localapi.Message) {
	switch {
	case m.At.After(s.mark):
		s.mark = m.At
		s.atMark = map[key]int{keyOf(m): 1}
	case m.At.Equal(s.mark):
		if s.atMark == nil {
			s.atMark = map[key]int{}
		}
		s.atMark[keyOf(m)]++
	}
}
