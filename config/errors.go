package config

import (
	"errors"
	"fmt"
	"sort"
)

// Error is one problem at one place in one config file. Load returns one *Error, or
// several joined with errors.Join; errors.As finds the first.
type Error struct {
	File string // the file's path
	Line int    // 1-based; 0 when the problem concerns the file as a whole
	Msg  string // what is wrong and what to do about it
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// maxErrors caps a report so that a garbled file gives IT a readable list, not a wall.
const maxErrors = 20

// joinErrors orders problems by file (in load order) and line, and caps their number.
func joinErrors(files []string, errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	rank := make(map[string]int, len(files))
	for i, f := range files {
		rank[f] = i
	}
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if rank[a.File] != rank[b.File] {
			return rank[a.File] < rank[b.File]
		}
		return a.Line < b.Line
	})
	if len(errs) == 1 {
		return errs[0]
	}
	n := min(len(errs), maxErrors)
	list := make([]error, 0, n+1)
	for _, e := range errs[:n] {
		list = append(list, e)
	}
	if len(errs) > n {
		list = append(list, fmt.Errorf("and %d more problems", len(errs)-n))
	}
	return errors.Join(list...)
}
