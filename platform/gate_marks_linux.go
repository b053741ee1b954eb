package platform

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// gateMarkKey names the kernel object a fanotify mark sits on. Marks are per object, not per
// path: two product directories on one mount share one mount mark, and removing it for one
// would remove it for both.
type gateMarkKey struct {
	mount bool
	dev   uint64
	id    uint64 // the mount id of a mount, the inode number of a directory
}

// gateMark is a mark the gate holds, with a path that reached its object when it was placed.
type gateMark struct {
	path  string
	flags uint
	mask  uint64
}

func gateMarkFor(t gateTarget) gateMark {
	if t.markMount {
		return gateMark{path: t.markPath, flags: unix.FAN_MARK_MOUNT, mask: unix.FAN_OPEN_EXEC_PERM}
	}
	// A directory mark sees its children's execs only with FAN_EVENT_ON_CHILD; it does not
	// recurse, which is why directories given as product paths get mount marks instead.
	return gateMark{path: t.markPath, mask: unix.FAN_OPEN_EXEC_PERM | unix.FAN_EVENT_ON_CHILD}
}

// gateKeyOf names the object that m.path reaches now.
func gateKeyOf(m gateMark) (gateMarkKey, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, m.path, 0, unix.STATX_INO|unix.STATX_MNT_ID, &st); err != nil {
		return gateMarkKey{}, fmt.Errorf("statx %s: %w", m.path, err)
	}
	dev := unix.Mkdev(st.Dev_major, st.Dev_minor)
	switch {
	case m.flags&unix.FAN_MARK_MOUNT == 0:
		return gateMarkKey{dev: dev, id: st.Ino}, nil
	case st.Mask&unix.STATX_MNT_ID != 0:
		return gateMarkKey{mount: true, id: st.Mnt_id}, nil
	default:
		// Before Linux 5.8 statx has no mount id; the device stands in for it, which only
		// conflates bind mounts of one filesystem.
		return gateMarkKey{mount: true, dev: dev}, nil
	}
}

// gateMarkSet computes the marks for targets, keyed by object.
func gateMarkSet(targets []gateTarget) (map[gateMarkKey]gateMark, error) {
	set := make(map[gateMarkKey]gateMark, len(targets))
	var errs []error
	for _, t := range targets {
		m := gateMarkFor(t)
		k, err := gateKeyOf(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		set[k] = m
	}
	return set, errors.Join(errs...)
}

// gateUpdateMarks moves the marks on fd from have to want: new marks first, so that a reload
// never leaves a product unwatched, then stale ones. It returns the marks now held.
func gateUpdateMarks(fd int, have, want map[gateMarkKey]gateMark) (map[gateMarkKey]gateMark, error) {
	held := make(map[gateMarkKey]gateMark, len(want))
	var errs []error
	for k, m := range want {
		if _, ok := have[k]; ok {
			held[k] = m
			continue
		}
		if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD|m.flags, m.mask, unix.AT_FDCWD, m.path); err != nil {
			errs = append(errs, fmt.Errorf("fanotify mark %s: %w", m.path, err))
			continue
		}
		held[k] = m
	}
	for k, m := range have {
		if _, ok := want[k]; ok {
			continue
		}
		// The path may reach another object by now (a directory replaced by an upgrade);
		// removing through it would drop that object's mark. The old object's mark then goes
		// when the kernel frees the object, and its events are filtered out meanwhile.
		if now, err := gateKeyOf(m); err != nil || now != k {
			continue
		}
		err := unix.FanotifyMark(fd, unix.FAN_MARK_REMOVE|m.flags, m.mask, unix.AT_FDCWD, m.path)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("fanotify unmark %s: %w", m.path, err))
			held[k] = m
		}
	}
	return held, errors.Join(errs...)
}
