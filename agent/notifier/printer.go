package notifier

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"

	"tollgate/platform"
)

// Printer is a display that writes each notice to a terminal or a file, one line each:
//
//	Autodesk Revit started: Closing Autodesk Revit within 5 minutes costs nothing. ...
//	[urgent] Autodesk Revit was not started: A day of Autodesk Revit costs 10 tokens ...
type Printer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewPrinter returns a display that writes to w.
func NewPrinter(w io.Writer) *Printer { return &Printer{w: w} }

// Notify writes n as one line.
func (p *Printer) Notify(_ context.Context, n platform.Notice) error {
	mark := ""
	if n.Urgent {
		mark = "[urgent] "
	}
	line := fmt.Sprintf("%s%s: %s\n", mark, oneLine(n.Title), oneLine(n.Body))
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := io.WriteString(p.w, line)
	return err
}

// oneLine turns control characters into spaces, so that a notice is always one line and
// cannot move a terminal's cursor.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
