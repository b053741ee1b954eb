//go:build unix

package platform

import "golang.org/x/sys/unix"

// FreeSpace is how many bytes an unprivileged writer may still use on the file system
// holding path.
func FreeSpace(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
