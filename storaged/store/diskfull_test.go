package store

import (
	"bytes"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFileSizeLimitRollsBack makes bbolt's commit fail for real: a child
// process lowers its RLIMIT_FSIZE to the database's current size, so growing
// the file fails with EFBIG, as a full disk would fail it. The failed batch
// must be invisible, the store usable once space is back, and the data
// intact after reopening.
func TestFileSizeLimitRollsBack(t *testing.T) {
	if os.Getenv(childEnv) == "fsize" {
		fileSizeChild(t, os.Getenv(dirEnv))
		return
	}
	out, err := childCommand("TestFileSizeLimitRollsBack", "fsize", t.TempDir()).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("fsize child done")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func fileSizeChild(t *testing.T, dir string) {
	signal.Ignore(syscall.SIGXFSZ) // get EFBIG rather than a signal
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := set(s, Objects, "before", "small"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, dbName))
	if err != nil {
		t.Fatal(err)
	}
	var limit unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatal(err)
	}
	full := limit
	full.Cur = uint64(fi.Size())
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &full); err != nil {
		t.Fatal(err)
	}

	big := strings.Repeat("x", 1<<20)
	err = set(s, Objects, "big", big)
	t.Logf("write beyond the limit: %v", err)
	if !errors.Is(err, ErrCommit) || errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), "file too large") {
		t.Fatalf("write beyond the size limit: %v; want ErrCommit saying the file is too large", err)
	}
	wantAbsent(t, s, Objects, "big")
	if got := mustGet(t, s, Objects, "before"); got != "small" {
		t.Fatalf("before = %q", got)
	}

	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &limit); err != nil { // space is back
		t.Fatal(err)
	}
	if err := set(s, Objects, "big", big); err != nil {
		t.Fatalf("write after the limit was lifted: %v", err)
	}
	if err := set(s, Objects, "after", "small"); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.FailedCommits != 1 {
		t.Errorf("Stats = %+v, want one failed commit", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, dir, Options{})
	if mustGet(t, s, Objects, "before") != "small" || mustGet(t, s, Objects, "big") != big || mustGet(t, s, Objects, "after") != "small" {
		t.Fatal("data lost after reopening")
	}
	if n, _ := s.Count(Objects); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
	os.Stdout.WriteString("fsize child done\n")
}
