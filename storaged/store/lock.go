package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// lockName is the lock file inside a data directory.
const lockName = "LOCK"

// dirLock is an exclusive flock on a data directory's LOCK file. The lock
// belongs to the open file description, so it excludes other processes and
// other opens in the same process alike, and the kernel releases it when the
// process dies, however it dies.
type dirLock struct {
	f *os.File
}

// lockDir takes the lock of dir without blocking. It returns an error
// matching ErrLocked if another store holds it.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := lockHolder(f)
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s%s", ErrLocked, path, holder)
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	// Record who holds the lock, for an operator reading ErrLocked. Best
	// effort: the flock, not the content, is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// release drops the lock and closes the file. The file itself stays:
// removing it would race with the next opener.
func (l *dirLock) release() error {
	return errors.Join(flock(l.f, unix.LOCK_UN), l.f.Close())
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// lockHolder describes the process recorded in a held lock file, or returns
// "" if it cannot tell.
func lockHolder(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(string(bytes.TrimSpace(buf[:n])))
	if err != nil || pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (held by pid %d)", pid)
}
