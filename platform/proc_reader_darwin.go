package platform

import (
	"context"
	"errors"
	"fmt"

	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"
)

const (
	procCommMax = 16 // MAXCOMLEN: how long a name the kernel keeps
	procSZOMB   = 5  // p_stat of a process that exited and awaits its parent
)

// procOS reads macOS's process table with one kern.proc.all sysctl per listing, which gives
// each process's pid, start time, name and user at once; the other fields are read by pid.
type procOS struct {
	kps   []unix.KinfoProc // the last listing, which name, execd and details index
	users procUsers
}

func newProcOS() *procOS { return &procOS{} }

func (r *procOS) list(dst []procListed) ([]procListed, error) {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return dst, fmt.Errorf("sysctl kern.proc.all: %w", err)
	}
	r.kps = kps
	for i := range kps {
		if kps[i].Proc.P_stat == procSZOMB {
			continue
		}
		created := procKinfoCreated(&kps[i])
		dst = append(dst, procListed{pid: kps[i].Proc.P_pid, hint: uint64(created), created: created, idx: i})
	}
	return dst, nil
}

func (r *procOS) created(_ context.Context, l procListed) (int64, error) { return l.created, nil }

func (r *procOS) name(_ context.Context, l procListed) (string, error) {
	return unix.ByteSliceToString(r.kps[l.idx].Proc.P_comm[:]), nil
}

// execd compares names only: the listing has them for free, and reading the executable
// of every process on every scan would not be.
func (r *procOS) execd(_ context.Context, l procListed, t *procTracked) bool {
	return unix.ByteSliceToString(r.kps[l.idx].Proc.P_comm[:]) != t.comm
}

func (r *procOS) details(ctx context.Context, key ProcKey, name string, l procListed) (Process, error) {
	p := Process{Key: key, Name: name, UID: int(r.kps[l.idx].Eproc.Pcred.P_ruid)}
	p.User = r.users.name(p.UID)
	gp := &process.Process{Pid: key.PID}
	// Fields the kernel will not show stay empty: a process that is not root's reads no other
	// user's arguments.
	if exe, err := gp.ExeWithContext(ctx); err == nil {
		p.Exe = exe
	}
	if args, err := gp.CmdlineSliceWithContext(ctx); err == nil {
		p.Args = args
	}
	p.Name = procFullName(name, procCommMax, p.Args, p.Exe)
	// The reads above went by pid, which names this process only while it runs.
	if created, err := procCreatedByPid(ctx, key.PID); err != nil || created != key.Created {
		return Process{}, errProcGone
	}
	return p, nil
}

// procCreatedByPid returns the create time of the process with pid, or errProcGone if there
// is none or it has exited. It computes it as gopsutil does, so keys agree with gopsutil's.
func procCreatedByPid(_ context.Context, pid int32) (int64, error) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", int(pid))
	// The kernel answers for a pid it does not know with nothing, which x/sys reports as EIO.
	if errors.Is(err, unix.EIO) || errors.Is(err, unix.ESRCH) {
		return 0, errProcGone
	}
	if err != nil {
		return 0, fmt.Errorf("sysctl kern.proc.pid.%d: %w", pid, err)
	}
	if k.Proc.P_pid != pid || k.Proc.P_stat == procSZOMB {
		return 0, errProcGone
	}
	return procKinfoCreated(k), nil
}

func procKinfoCreated(k *unix.KinfoProc) int64 {
	t := k.Proc.P_starttime
	return t.Sec*1000 + int64(t.Usec)/1000
}
