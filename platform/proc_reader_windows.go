package platform

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/windows"
)

// procEpochDelta is the Unix epoch in FILETIME units (100ns since 1601).
const procEpochDelta = 116444736000000000

// procOS reads Windows's process table with one NtQuerySystemInformation call per listing,
// which gives each process's pid, create time and image name at once: a reused pid shows in
// the create time without opening any process. The other fields are read through a handle,
// which also holds the pid: Windows does not reuse it while a handle to the process is open.
type procOS struct {
	buf      []uint64 // SYSTEM_PROCESS_INFORMATION records; uint64 for their alignment
	accounts procAccounts
}

func newProcOS() *procOS { return &procOS{buf: make([]uint64, 64<<10)} }

func (r *procOS) list(dst []procListed) ([]procListed, error) {
	for {
		var need uint32
		size := uint32(len(r.buf) * 8)
		err := windows.NtQuerySystemInformation(windows.SystemProcessInformation, unsafe.Pointer(&r.buf[0]), size, &need)
		if errors.Is(err, windows.STATUS_INFO_LENGTH_MISMATCH) {
			// Leave room for the processes that start before the next try.
			r.buf = make([]uint64, (need+need/4)/8+1)
			continue
		}
		if err != nil {
			return dst, fmt.Errorf("NtQuerySystemInformation: %w", err)
		}
		break
	}
	for off := 0; ; {
		p := r.entry(off)
		if !procHalfMade(p.UniqueProcessID, p.ImageName.Length, p.CreateTime) {
			created := procFiletimeMillis(p.CreateTime)
			dst = append(dst, procListed{pid: int32(p.UniqueProcessID), hint: uint64(p.CreateTime), created: created, idx: off})
		}
		if p.NextEntryOffset == 0 {
			return dst, nil
		}
		off += int(p.NextEntryOffset)
	}
}

// procLatestCreate is 2200-01-01 as a FILETIME: no clock shows a create time past it.
const procLatestCreate = (7258118400*10000000 + procEpochDelta)

// procHalfMade reports whether a listing entry is a process still being made, left out of
// the listing until a later scan sees it whole. Wine lists a new process for some hundred
// milliseconds before its image name and then its create time are set: first with no name
// and a create time of 0x5555555555555555 (memory never written), then named, while
// GetProcessTimes already gives the real time. Taken as it is, such an entry was tracked as
// a nameless process the catalogue passes over, or reported under a create time that the
// next scan contradicts (an exit and a second start of one running product, each decided).
// Windows lists no such entry; the idle process (pid 0) has no name and stays.
func procHalfMade(pid uintptr, nameLen uint16, created int64) bool {
	return pid != 0 && (nameLen == 0 || created > procLatestCreate)
}

func (r *procOS) entry(off int) *windows.SYSTEM_PROCESS_INFORMATION {
	return (*windows.SYSTEM_PROCESS_INFORMATION)(unsafe.Add(unsafe.Pointer(&r.buf[0]), off))
}

func (r *procOS) created(_ context.Context, l procListed) (int64, error) { return l.created, nil }

func (r *procOS) name(_ context.Context, l procListed) (string, error) {
	n := r.entry(l.idx).ImageName
	if n.Buffer == nil {
		return "", nil // the idle process
	}
	return windows.UTF16ToString(unsafe.Slice(n.Buffer, n.Length/2)), nil
}

// execd is always false: Windows has no exec; a program that starts another makes a new
// process.
func (r *procOS) execd(context.Context, procListed, *procTracked) bool { return false }

func (r *procOS) details(ctx context.Context, key ProcKey, name string, _ procListed) (Process, error) {
	p := Process{Key: key, Name: name, UID: -1}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(key.PID))
	if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		return Process{}, errProcGone
	}
	if err != nil {
		return p, nil // protected and system processes: their name is all Windows shows
	}
	defer windows.CloseHandle(h)
	if err := procHandleIs(h, key); err != nil {
		return Process{}, err
	}
	// Fields Windows will not show stay empty.
	if exe, err := procImagePath(h); err == nil {
		p.Exe = exe
	}
	p.User, p.Domain = r.accounts.of(h)
	// gopsutil opens the process by pid; the handle above keeps that pid this process's.
	if args, err := (&process.Process{Pid: key.PID}).CmdlineSliceWithContext(ctx); err == nil {
		p.Args = args
	}
	return p, nil
}

// procHandleIs returns errProcGone unless h is a running process with key's create time.
func procHandleIs(h windows.Handle, key ProcKey) error {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return fmt.Errorf("GetProcessTimes: %w", err)
	}
	if procFiletimeMillis(int64(created.HighDateTime)<<32|int64(created.LowDateTime)) != key.Created {
		return errProcGone
	}
	// An exited process keeps its pid while anyone holds a handle to it.
	if ev, _ := windows.WaitForSingleObject(h, 0); ev == windows.WAIT_OBJECT_0 {
		return errProcGone
	}
	return nil
}

func procImagePath(h windows.Handle) (string, error) {
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return "", err
	}
	return windows.UTF16ToString(buf[:n]), nil
}

// procFiletimeMillis converts a FILETIME to Unix milliseconds as gopsutil does, so keys agree
// with gopsutil's.
func procFiletimeMillis(ft int64) int64 { return (ft - procEpochDelta) / 10000 }
