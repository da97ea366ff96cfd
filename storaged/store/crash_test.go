package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const (
	crashWriters = 32
	crashAcks    = 2000 // acknowledgements the parent waits for before SIGKILL
)

func crashKey(writer, i int) string { return fmt.Sprintf("w%02d-%07d", writer, i) }
func crashValue(key string) string  { return "value of " + key }

// TestCrashDurability runs writers in a child process, kills it with SIGKILL
// after crashAcks acknowledgements, and checks that every acknowledged write
// survived and that the lock died with the child.
func TestCrashDurability(t *testing.T) {
	if os.Getenv(childEnv) == "crash" {
		crashChild(os.Getenv(dirEnv))
		return
	}
	dir := t.TempDir()
	cmd := childCommand("TestCrashDurability", "crash", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	var epoch uint64
	var acked []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "epoch "); ok {
			if epoch, err = strconv.ParseUint(e, 10, 64); err != nil {
				t.Fatalf("child said %q", line)
			}
			continue
		}
		key, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			continue
		}
		acked = append(acked, key) // including those printed after the kill was sent
		if len(acked) == 1 {
			if _, err := Open(dir, Options{Logger: quiet}); !errors.Is(err, ErrLocked) {
				t.Errorf("Open while the child holds the store: %v, want ErrLocked", err)
			}
		}
		if len(acked) == crashAcks {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	waitErr := cmd.Wait()
	if !killed {
		t.Fatalf("child ended after %d acknowledgements: %v\n%s", len(acked), waitErr, stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(waitErr, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", waitErr, stderr.String())
	}

	s := openT(t, dir, Options{}) // the lock died with the child
	if epoch == 0 || s.Epoch() != epoch || s.Fresh() {
		t.Errorf("after the crash: Epoch %d (child had %d), Fresh %v", s.Epoch(), epoch, s.Fresh())
	}
	for _, k := range acked {
		v, err := s.Get(Objects, []byte(k))
		if err != nil || string(v) != crashValue(k) {
			t.Fatalf("acknowledged %s: %q, %v", k, v, err)
		}
	}
	n, _ := s.Count(Objects)
	t.Logf("%d writes acknowledged, all present; %d keys on disk", len(acked), n)
}

// crashChild writes unique keys from crashWriters goroutines, printing each
// key only after Apply returned nil, until it is killed. It never returns.
func crashChild(dir string) {
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex // one write(2) per line, lines never interleaved
	fmt.Printf("epoch %d\n", s.Epoch())
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for i := range 1_000_000 { // bounded, should the parent vanish
				key := crashKey(w, i)
				err := s.Apply(context.Background(), Objects, []byte(key), func([]byte) ([]byte, error) {
					return []byte(crashValue(key)), nil
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(3)
				}
				mu.Lock()
				_, err = fmt.Printf("ack %s\n", key)
				mu.Unlock()
				if err != nil {
					os.Exit(4)
				}
			}
		})
	}
	wg.Wait()
	os.Exit(5) // the parent should have killed us long before
}
