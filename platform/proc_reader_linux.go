package platform

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"
)

const (
	// procCommMax is how long a name the kernel keeps (TASK_COMM_LEN less the NUL).
	procCommMax = 15
	// procUserHZ is the unit of start times in /proc/PID/stat: USER_HZ, 100 on every
	// architecture Go runs on (gopsutil gets the same from sysconf).
	procUserHZ = 100
	// procPFExiting is PF_EXITING in /proc/PID/stat's flags: set as the process starts to
	// exit, before the kernel sends the exit event.
	procPFExiting = 0x4
)

// procOS reads Linux's /proc. A listing is the directory's entries, read with getdents: the
// inode of each /proc/PID stands for the process until the kernel drops the entry from its
// cache, which it does when the process exits (and, rarely, under memory pressure), so an
// unchanged inode spares reading the create time.
type procOS struct {
	dirents []byte
	users   procUsers
}

func newProcOS() *procOS { return &procOS{dirents: make([]byte, 32<<10)} }

func (r *procOS) list(dst []procListed) ([]procListed, error) {
	fd, err := unix.Open("/proc", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return dst, &fs.PathError{Op: "open", Path: "/proc", Err: err}
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Getdents(fd, r.dirents)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return dst, &fs.PathError{Op: "getdents", Path: "/proc", Err: err}
		}
		if n <= 0 {
			return dst, nil
		}
		dst = procParseDirents(r.dirents[:n], dst)
	}
}

// procParseDirents appends the pids among linux_dirent64 records to dst, each with its inode.
func procParseDirents(b []byte, dst []procListed) []procListed {
	const nameOff = 19 // d_ino u64, d_off s64, d_reclen u16, d_type u8, then d_name
	for len(b) > nameOff {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen <= nameOff || reclen > len(b) {
			break
		}
		rec := b[:reclen]
		b = b[reclen:]
		if rec[18] != unix.DT_DIR {
			continue
		}
		if pid, ok := procParsePid(rec[nameOff:]); ok {
			dst = append(dst, procListed{pid: pid, hint: binary.NativeEndian.Uint64(rec[:8])})
		}
	}
	return dst
}

// procParsePid parses a NUL-terminated directory name made of digits only.
func procParsePid(name []byte) (int32, bool) {
	var pid int64
	for i, c := range name {
		if c == 0 {
			return int32(pid), i > 0
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		pid = pid*10 + int64(c-'0')
		if pid > 1<<31-1 {
			return 0, false
		}
	}
	return 0, false
}

func (r *procOS) created(ctx context.Context, l procListed) (int64, error) {
	return procCreatedByPid(ctx, l.pid)
}

func (r *procOS) name(_ context.Context, l procListed) (string, error) {
	var buf [procCommMax + 2]byte
	b, err := procReadComm(l.pid, buf[:])
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// procReadComm reads /proc/PID/comm into buf and returns the name without its newline. Every
// scan reads it for every process, so it costs three system calls and no allocation, where
// os.ReadFile would add an fstat, a second read and a buffer.
func procReadComm(pid int32, buf []byte) ([]byte, error) {
	var path [32]byte
	p := strconv.AppendInt(append(path[:0], "/proc/"...), int64(pid), 10)
	p = append(p, "/comm\x00"...)
	fd, err := unix.Open(unix.ByteSliceToString(p), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, procReadErr(&fs.PathError{Op: "open", Path: procPath(pid, "comm"), Err: err})
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, procReadErr(&fs.PathError{Op: "read", Path: procPath(pid, "comm"), Err: err})
		}
		return bytes.TrimSuffix(buf[:n], []byte{'\n'}), nil
	}
}

// execd reads the kernel's name for the process, which exec sets to the new program's file
// name, and for a process already reported also its executable: a script's name is its own,
// and stays when it execs the program it wraps; its executable, the interpreter, does not.
func (r *procOS) execd(_ context.Context, l procListed, t *procTracked) bool {
	var buf [procCommMax + 2]byte
	name, err := procReadComm(l.pid, buf[:])
	if err != nil {
		return false // gone: the next listing says so
	}
	if string(name) != t.comm {
		return true
	}
	if t.exe == "" {
		return false
	}
	exe, err := os.Readlink(procPath(l.pid, "exe"))
	return err == nil && exe != t.exe
}

func (r *procOS) details(ctx context.Context, key ProcKey, name string, _ procListed) (Process, error) {
	p := Process{Key: key, Name: name, UID: -1}
	gp := &process.Process{Pid: key.PID}
	// Fields the kernel will not show stay empty: kernel threads have no executable or
	// arguments, and a process that is not root's reads no other user's executable.
	if exe, err := gp.ExeWithContext(ctx); err == nil {
		p.Exe = exe
	}
	if args, err := gp.CmdlineSliceWithContext(ctx); err == nil {
		p.Args = args
	}
	if uids, err := gp.UidsWithContext(ctx); err == nil && len(uids) > 0 {
		p.UID = int(uids[0])
		p.User = r.users.name(p.UID)
	}
	p.Name = procFullName(name, procCommMax, p.Args, p.Exe)
	// Every read above went by pid, which names this process only while it runs.
	if created, err := procCreatedByPid(ctx, key.PID); err != nil || created != key.Created {
		return Process{}, errProcGone
	}
	return p, nil
}

// procCreatedByPid returns the create time of the process with pid, or errProcGone if there
// is none or it is exiting. It computes it as gopsutil does, so keys agree with gopsutil's.
func procCreatedByPid(ctx context.Context, pid int32) (int64, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return 0, procReadErr(err)
	}
	// The name, in parentheses, may hold spaces and parentheses itself: fields count from the
	// last ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errProcGone // empty: the process went while the kernel wrote the file
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 of proc(5)
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	state := f[0][0]
	flags, err := strconv.ParseUint(string(f[6]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat flags: %w", pid, err)
	}
	if state == 'Z' || state == 'X' || flags&procPFExiting != 0 {
		return 0, errProcGone
	}
	start, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat starttime: %w", pid, err)
	}
	boot, err := host.BootTimeWithContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("boot time: %w", err)
	}
	return int64(start*1000/procUserHZ + boot*1000), nil
}

func procPath(pid int32, file string) string {
	return "/proc/" + strconv.FormatInt(int64(pid), 10) + "/" + file
}

// procReadErr turns the errors a read of /proc/PID gives once the process is gone into
// errProcGone.
func procReadErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return errProcGone
	}
	return err
}
