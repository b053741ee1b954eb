package platform

import (
	"cmp"
	"context"
	"reflect"
	"slices"
	"testing"
)

// procTable is a process table as a listing would show it, one per scan, for testing the
// source's bookkeeping apart from any OS.
type procTable []procRow

type procRow struct {
	pid     int32
	hint    uint64
	created int64
	name    string
	gone    string // "" or the read that finds the process gone: "created", "name", "details"
}

// procTables serves one table per list call; reads answer from the last table listed.
type procTables struct {
	tables []procTable
	now    procTable
}

func (r *procTables) row(pid int32) procRow {
	for _, p := range r.now {
		if p.pid == pid {
			return p
		}
	}
	return procRow{pid: pid, gone: "created"}
}

func (r *procTables) list(dst []procListed) ([]procListed, error) {
	r.now, r.tables = r.tables[0], r.tables[1:]
	for _, p := range r.now {
		dst = append(dst, procListed{pid: p.pid, hint: p.hint})
	}
	return dst, nil
}

func (r *procTables) created(_ context.Context, l procListed) (int64, error) {
	p := r.row(l.pid)
	if p.gone == "created" {
		return 0, errProcGone
	}
	return p.created, nil
}

func (r *procTables) name(_ context.Context, l procListed) (string, error) {
	p := r.row(l.pid)
	if p.gone == "name" {
		return "", errProcGone
	}
	return p.name, nil
}

func (r *procTables) execd(_ context.Context, l procListed, t *procTracked) bool {
	return r.row(l.pid).name != t.comm
}

func (r *procTables) details(_ context.Context, key ProcKey, name string, _ procListed) (Process, error) {
	if r.row(key.PID).gone == "details" {
		return Process{}, errProcGone
	}
	return Process{Key: key, Name: name, Exe: "/bin/" + name, UID: -1}, nil
}

func procStarted(pid int32, created int64, name string) Process {
	return Process{Key: ProcKey{PID: pid, Created: created}, Name: name, Exe: "/bin/" + name, UID: -1}
}

func TestSourceBookkeeping(t *testing.T) {
	revit := procRow{pid: 10, hint: 1, created: 100, name: "revit"}
	acad := procRow{pid: 20, hint: 2, created: 200, name: "acad.exe"}
	with := func(p procRow, change func(*procRow)) procRow { change(&p); return p }
	same := procTable{revit, acad}
	tests := []struct {
		name   string
		filter func(string) bool
		tables []procTable
		want   []Diff // one per scan
	}{{
		name:   "first scan reports everything",
		tables: []procTable{same, same},
		want:   []Diff{{Started: []Process{procStarted(10, 100, "revit"), procStarted(20, 200, "acad.exe")}}, {}},
	}, {
		name:   "exit",
		tables: []procTable{same, {revit}, {revit}},
		want:   []Diff{{Started: []Process{procStarted(10, 100, "revit"), procStarted(20, 200, "acad.exe")}}, {Exited: []ProcKey{{20, 200}}}, {}},
	}, {
		name: "pid reused",
		tables: []procTable{{revit}, {with(revit, func(p *procRow) {
			p.hint, p.created, p.name = 9, 900, "acad.exe"
		})}},
		want: []Diff{{Started: []Process{procStarted(10, 100, "revit")}}, {
			Started: []Process{procStarted(10, 900, "acad.exe")},
			Exited:  []ProcKey{{10, 100}},
		}},
	}, {
		name:   "hint changed, same process",
		tables: []procTable{{revit}, {with(revit, func(p *procRow) { p.hint = 9 })}},
		want:   []Diff{{Started: []Process{procStarted(10, 100, "revit")}}, {}},
	}, {
		name:   "same hint spares reading the create time",
		tables: []procTable{{revit}, {with(revit, func(p *procRow) { p.gone = "created" })}},
		want:   []Diff{{Started: []Process{procStarted(10, 100, "revit")}}, {}},
	}, {
		name:   "hint changed, process gone while read",
		tables: []procTable{{revit}, {with(revit, func(p *procRow) { p.hint, p.gone = 9, "created" })}},
		want:   []Diff{{Started: []Process{procStarted(10, 100, "revit")}}, {Exited: []ProcKey{{10, 100}}}},
	}, {
		name: "gone while read, at each read",
		tables: []procTable{
			{with(revit, func(p *procRow) { p.gone = "created" }), with(acad, func(p *procRow) { p.gone = "name" })},
			{with(revit, func(p *procRow) { p.gone = "details" }), acad},
			{revit, acad},
			{},
		},
		want: []Diff{{}, {Started: []Process{procStarted(20, 200, "acad.exe")}}, {Started: []Process{procStarted(10, 100, "revit")}}, {
			Exited: []ProcKey{{10, 100}, {20, 200}},
		}},
	}, {
		name:   "filter",
		filter: func(name string) bool { return name == "revit" },
		tables: []procTable{same, {}},
		want:   []Diff{{Started: []Process{procStarted(10, 100, "revit")}}, {Exited: []ProcKey{{10, 100}}}},
	}, {
		name: "exec in place",
		tables: []procTable{
			{with(revit, func(p *procRow) { p.name = "sh" })},
			{revit},
		},
		want: []Diff{{Started: []Process{procStarted(10, 100, "sh")}}, {
			Started: []Process{procStarted(10, 100, "revit")},
			Exited:  []ProcKey{{10, 100}},
		}},
	}, {
		name:   "exec in place by a process the filter rejected",
		filter: func(name string) bool { return name == "revit" },
		tables: []procTable{{with(revit, func(p *procRow) { p.name = "sh" })}, {revit}, {}},
		want:   []Diff{{}, {Started: []Process{procStarted(10, 100, "revit")}}, {Exited: []ProcKey{{10, 100}}}},
	}, {
		// A wrapper may wait as long as it likes before it execs the product, keeping its pid
		// and create time (`sh -c 'sleep 3; exec AutoCAD'`): every scan must catch it.
		name:   "exec in place late in a process's life",
		filter: func(name string) bool { return name == "revit" },
		tables: func() []procTable {
			sh := procTable{with(revit, func(p *procRow) { p.name = "sh" })}
			ts := []procTable{}
			for range 20 {
				ts = append(ts, sh)
			}
			return append(ts, procTable{revit}, procTable{revit})
		}(),
		want: func() []Diff {
			ds := make([]Diff, 20)
			return append(ds, Diff{Started: []Process{procStarted(10, 100, "revit")}}, Diff{})
		}(),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newSource(SourceOptions{Filter: tt.filter}, &procTables{tables: tt.tables})
			for i, want := range tt.want {
				got, err := src.Scan(context.Background())
				if err != nil {
					t.Fatalf("scan %d: %v", i, err)
				}
				procSortDiff(&got)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("scan %d: got %+v, want %+v", i, got, want)
				}
			}
		})
	}
}

// TestSourceWithdrawsShortLives checks that a process that starts and exits within one diff
// is in neither list, and that an exec in place keeps its Exited-then-Started order.
func TestSourceWithdrawsShortLives(t *testing.T) {
	k := ProcKey{PID: 10, Created: 100}
	tests := []struct {
		name     string
		reported bool // in an earlier diff
		steps    []string
		want     Diff
	}{
		{"started and exited", false, []string{"start", "exit"}, Diff{}},
		{"exec'd and exited", true, []string{"exit", "start", "exit"}, Diff{Exited: []ProcKey{k}}},
		{"exec'd", true, []string{"exit", "start"}, Diff{Started: []Process{{Key: k}}, Exited: []ProcKey{k}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newSource(SourceOptions{}, &procTables{})
			var d Diff
			if tt.reported {
				src.procs[k.PID] = &procTracked{key: k, reported: true}
			}
			for _, step := range tt.steps {
				switch step {
				case "start":
					d.Started = append(d.Started, Process{Key: k})
					src.procs[k.PID] = &procTracked{key: k, reported: true}
				case "exit":
					src.forget(&d, src.procs[k.PID])
				}
			}
			if !reflect.DeepEqual(d, tt.want) {
				t.Errorf("got %+v, want %+v", d, tt.want)
			}
		})
	}
}

// procSortDiff orders exits by pid: a scan forgets processes in map order.
func procSortDiff(d *Diff) {
	slices.SortFunc(d.Exited, func(a, b ProcKey) int { return cmp.Compare(a.PID, b.PID) })
}

func TestProcFullName(t *testing.T) {
	tests := []struct {
		name, comm string
		limit      int
		args       []string
		exe        string
		want       string
	}{
		{"short", "revit", 15, []string{"/opt/revit/revit"}, "/opt/revit/revit", "revit"},
		{"cut, from the first argument", "revit-long-prod", 15, []string{"/opt/revit-long-product"}, "/usr/bin/python3", "revit-long-product"},
		{"cut, from the executable", "revit-long-prod", 15, []string{"revit"}, "/opt/revit-long-product", "revit-long-product"},
		{"cut, nothing matches", "revit-long-prod", 15, nil, "/usr/bin/python3", "revit-long-prod"},
		{"cut, no executable", "kworker/0:1-eve", 15, nil, "", "kworker/0:1-eve"},
	}
	for _, tt := range tests {
		if got := procFullName(tt.comm, tt.limit, tt.args, tt.exe); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
