package store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// Child processes: a test re-executes its own binary with childEnv naming
// the role and dirEnv the data directory.
const (
	childEnv = "SHOAL_STORE_TEST_CHILD"
	dirEnv   = "SHOAL_STORE_TEST_DIR"
)

var quiet = newTextLogger(io.Discard)

// newTextLogger logs text lines to w.
func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// openT opens a store in dir and closes it when the test ends.
func openT(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// set stores value under key.
func set(s *Store, b Bucket, key, value string) error {
	return s.Apply(context.Background(), b, []byte(key), func([]byte) ([]byte, error) {
		return []byte(value), nil
	})
}

// mustGet returns the value of key, failing the test if it is absent.
func mustGet(t testing.TB, s *Store, b Bucket, key string) string {
	t.Helper()
	v, err := s.Get(b, []byte(key))
	if err != nil {
		t.Fatalf("Get(%s, %q): %v", b, key, err)
	}
	return string(v)
}

// wantAbsent fails the test unless key is absent.
func wantAbsent(t testing.TB, s *Store, b Bucket, key string) {
	t.Helper()
	if v, err := s.Get(b, []byte(key)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%s, %q) = %q, %v; want ErrNotFound", b, key, v, err)
	}
}

// stall occupies the commit loop with a write whose function blocks until
// release is called, and returns once that function runs. Writes issued
// meanwhile queue up and form the next batch.
func stall(t testing.TB, s *Store) (release func()) {
	t.Helper()
	running, unblock := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.Apply(context.Background(), Meta, []byte("stall"), func([]byte) ([]byte, error) {
			close(running)
			<-unblock
			return nil, nil
		})
	}()
	<-running
	return func() {
		close(unblock)
		if err := <-errc; err != nil {
			t.Errorf("stalling write: %v", err)
		}
	}
}

// waitQueued yields until n requests wait in the commit queue.
func waitQueued(s *Store, n int) {
	for len(s.queue) < n {
		runtime.Gosched()
	}
}

// childCommand re-executes the test binary to run test in the given role.
func childCommand(test, role, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+role, dirEnv+"="+dir)
	return cmd
}
