package systest

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
)

// A caller's own tight deadline says nothing about the nodes: it must not
// mark healthy nodes down (which would send writes to stand-ins as hints
// until the next probe).
func TestCallerDeadlineDoesNotMarkNodesDown(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	cl := c.Client(nil)
	ctx := ctxT(t, 60*time.Second)
	if _, err := cl.Put(ctx, []byte("k"), []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	timedOut := 0
	for range 20 {
		if _, err := cl.Get(ctx, []byte("k"), driver.WithTimeout(50*time.Microsecond)); err != nil {
			timedOut++
		}
	}
	if timedOut == 0 {
		t.Fatal("no 50µs get timed out; the test exercised nothing")
	}
	for _, n := range cl.Ring().Nodes() {
		if b := cl.Belief(n.ID); !b.Up {
			t.Errorf("%s believed down after %d gets hit their caller's deadline: %+v", n.ID, timedOut, b)
		}
	}
}

// Reads alone find a paused node out: a replica still silent when the
// quorum answered is given its full attempt, and marked down when that runs
// out, rather than being cancelled and forgotten (which left a paused node
// believed up for as long as the traffic was reads, until QUIC's idle
// timeout, about 10s, ended the connection).
func TestReadsAloneMarkPausedNodeDown(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	writer := c.Client(nil)
	ctx := ctxT(t, 60*time.Second)
	var keys [][]byte
	for i := range 30 {
		k := fmt.Appendf(nil, "paused-%d", i)
		if _, err := writer.Put(ctx, k, []byte("v"), nil); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	n1 := -1
	for i, n := range c.Nodes {
		if n.ID == "n1" {
			n1 = i
		}
	}
	if n1 < 0 {
		t.Fatal("no node n1")
	}
	reader := c.Client(nil)
	c.Signal(n1, syscall.SIGSTOP)
	t.Cleanup(func() { c.Signal(n1, syscall.SIGCONT) })
	deadline := time.Now().Add(5 * time.Second)
	reads := 0
	for reader.Belief("n1").Up {
		if time.Now().After(deadline) {
			t.Fatalf("n1 paused for 5s of reads (%d of them) and still believed up", reads)
		}
		for _, k := range keys {
			if _, err := reader.Get(ctx, k); err != nil {
				t.Fatalf("read %s with n1 paused: %v", k, err)
			}
			reads++
		}
	}
	t.Logf("n1 believed down after %d reads: %+v", reads, reader.Belief("n1"))
}

// The driver keeps no reference to the caller's key: replication past W
// goes on after Put returns, and a caller reusing its buffer must not
// redirect it to another key.
func TestPutDoesNotKeepCallersKey(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := ctxT(t, 60*time.Second)
	cl := c.Client(nil)
	buf := make([]byte, 0, 32)
	for i := range 20 {
		buf = fmt.Appendf(buf[:0], "alias-a-%02d", i)
		if _, err := cl.Put(ctx, buf, []byte("value of a"), nil, driver.WithW(1)); err != nil {
			t.Fatal(err)
		}
		copy(buf, "alias-b-")
	}
	if err := cl.Close(); err != nil { // waits for the replication
		t.Fatal(err)
	}
	check := c.Client(nil)
	for i := range 20 {
		b := fmt.Appendf(nil, "alias-b-%02d", i)
		if v, err := check.Get(ctx, b, driver.WithR(3)); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("%s was never written, yet reads %q (err %v)", b, v.Values, err)
		}
		a := fmt.Appendf(nil, "alias-a-%02d", i)
		v, err := check.Get(ctx, a, driver.WithR(3), driver.WithPR(3))
		if err != nil || len(v.Values) != 1 || !bytes.Equal(v.Values[0], []byte("value of a")) {
			t.Errorf("%s: %q, %v", a, v.Values, err)
		}
	}
}
