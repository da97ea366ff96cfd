package hostile

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// dataFile is storaged's bbolt file inside its data directory.
const dataFile = "shoal.db"

// damage is one way of breaking a stopped node's data file.
type damage struct {
	kind string // "flip" or "truncate"
	seed uint64 // flip: where and how; truncate: 0 cuts at half, else a seeded length
}

func (d damage) String() string { return fmt.Sprintf("%s seed %d", d.kind, d.seed) }

// apply damages the file at path and describes what it did.
func (d damage) apply(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	rng := rand.New(rand.NewPCG(d.seed, 0x686f7374696c65))
	switch d.kind {
	case "truncate":
		n := len(b) / 2
		if d.seed != 0 {
			n = len(b)/4 + rng.IntN(len(b)/2)
		}
		if err := os.Truncate(path, int64(n)); err != nil {
			return "", err
		}
		return fmt.Sprintf("truncated from %d to %d bytes", len(b), n), nil
	case "flip":
		const n = 64
		off := rng.IntN(len(b) - n)
		for i := range n {
			b[off+i] ^= byte(1 + rng.IntN(255)) // never 0: every byte changes
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return "", err
		}
		return fmt.Sprintf("flipped %d bytes at offset %d of %d", n, off, len(b)), nil
	}
	return "", fmt.Errorf("unknown damage %q", d.kind)
}

// TestDamagedDataFile: write keys through the driver, stop one node, damage
// its data file (64 random bytes flipped at a random offset, or the file
// truncated to half) for several seeds, restart it, and read every key
// directly from it and through the driver. The node must come up (empty
// under a new epoch, or serving only records whose checksum holds), never
// return a value that was never written, and the cluster must lose no
// acknowledged write. Today: storaged dies inside bbolt in most runs.
func TestDamagedDataFile(t *testing.T) {
	needRealProcesses(t)
	c := testcluster.Start(t, testcluster.Options{NoSync: true})
	cl := c.Client(nil)
	ctx := testcluster.Context(t, 3*time.Minute)

	const keys = 300
	written := make(map[string][]byte, keys) // acknowledged writes
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range keys {
		k := fmt.Sprintf("key-%04d", i)
		v := make([]byte, 800+rng.IntN(1200))
		for j := range v {
			v[j] = byte('a' + rng.IntN(26))
		}
		copy(v, k)
		if _, err := cl.Put(ctx, []byte(k), v, nil, driver.WithW(len(c.Nodes))); err != nil {
			t.Fatalf("set-up put %s: %v", k, err)
		}
		written[k] = v
	}
	c.Stop(target)
	path := filepath.Join(c.Nodes[target].DataDir, dataFile)
	pristine, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}

	runs := []damage{{"flip", 1}, {"flip", 2}, {"flip", 3}, {"flip", 4}, {"truncate", 0}, {"truncate", 1}}
	crashed := 0
	for _, d := range runs {
		if !damagedRun(t, c, cl, d, path, pristine, written) {
			crashed++
		}
	}
	if crashed > 0 {
		t.Errorf("damaged data file: node %s did not stay up in %d of %d runs", c.Nodes[target].ID, crashed, len(runs))
	}
}

// damagedRun restores the pristine file, damages it as d says, restarts the
// node, checks its reads and the driver's, and stops the node again. It
// reports whether the node came up and stayed up.
func damagedRun(t *testing.T, c *testcluster.Cluster, cl *driver.Client, d damage, path string, pristine []byte, written map[string][]byte) bool {
	t.Helper()
	id := c.Nodes[target].ID
	if err := os.WriteFile(path, pristine, 0o600); err != nil {
		t.Fatal(err)
	}
	what, err := d.apply(path)
	if err != nil {
		t.Fatalf("damage %s: %v", d, err)
	}
	if err := c.Launch(target); err != nil {
		t.Errorf("damaged data file (%s: %s): node %s did not come back: %s", d, what, id, crashExcerpt(err.Error()))
		return false
	}
	up := true
	defer func() {
		if c.Running(target) {
			c.Stop(target)
		}
	}()
	ctx := testcluster.Context(t, time.Minute)

	// Directly from the damaged node: a miss or an error answer is fine, a
	// value nobody wrote is not.
	found, failed, bogus := 0, 0, 0
	r, err := dialRaw(ctx, c.ClientIP(1), c.Nodes[target].Addr, tlsFor(c.Material(pki.RoleClient, "tester"), string(id)))
	if err == nil {
		defer r.Close()
		// A node that dies mid-way must not leave the reads waiting for
		// QUIC's idle timeout.
		exited, done := c.Exited(target), make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-exited:
				r.Close()
			case <-done:
			}
		}()
		err = r.Hello(ctx, c.ClusterID)
	}
	if err != nil {
		t.Errorf("damaged data file (%s: %s): connect to %s after restart: %v", d, what, id, err)
		up = false
	} else {
		for _, k := range sortedKeys(written) {
			g, err := r.Get(ctx, []byte(k))
			var re *wire.RemoteError
			switch {
			case errors.As(err, &re):
				failed++
			case err != nil:
				t.Errorf("damaged data file (%s: %s): %s's connection broke at key %s: %v", d, what, id, k, err)
				up = false
			case g.Found:
				found++
				if err := neverWritten(k, g.Object.Values(), [][]byte{written[k]}); err != nil {
					bogus++
					t.Errorf("damaged data file (%s: %s): node %s served it: %v", d, what, id, err)
				}
			}
			if !up {
				break
			}
		}
	}

	// Through the driver: every acknowledged write, exactly.
	lost := 0
	for _, k := range sortedKeys(written) {
		v, err := cl.Get(ctx, []byte(k))
		switch {
		case err != nil:
			lost++
			if lost <= 3 {
				t.Errorf("damaged data file (%s: %s): driver read of acknowledged %s: %v", d, what, k, err)
			}
		case len(v.Values) != 1 || !bytes.Equal(v.Values[0], written[k]):
			lost++
			if lost <= 3 {
				t.Errorf("damaged data file (%s: %s): driver reads acknowledged %s as %d values %s, want only what was written",
					d, what, k, len(v.Values), short(v.Values))
			}
		}
	}
	if lost > 0 {
		t.Errorf("damaged data file (%s: %s): %d of %d acknowledged writes lost or changed cluster-wide", d, what, lost, len(written))
	}
	if !c.Running(target) {
		t.Errorf("damaged data file (%s: %s): node %s exited after serving reads: %s", d, what, id, logCrash(c))
		up = false
	}
	t.Logf("damaged data file (%s: %s): node up %v; direct reads of %d keys: %d found, %d refused, %d never written; driver: %d lost",
		d, what, up, len(written), found, failed, bogus, lost)
	return up
}

// sortedKeys lists m's keys in order (no map order in what the test does).
func sortedKeys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// crashExcerpt is the part of a node's log (appended to by every run) that
// says why it last died: a few lines from the last panic or fatal error;
// else the last few lines.
func crashExcerpt(log string) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	from := max(0, len(lines)-6)
	for i := len(lines) - 1; i >= 0; i-- {
		if l := lines[i]; strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "fatal error:") {
			from = i
			break
		}
	}
	return strings.Join(lines[from:min(len(lines), from+6)], "\n")
}

// logCrash is crashExcerpt of the attacked node's log.
func logCrash(c *testcluster.Cluster) string {
	b, _ := os.ReadFile(c.Nodes[target].LogPath)
	return crashExcerpt(string(b))
}
