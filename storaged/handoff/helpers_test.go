package handoff

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// at is the test epoch plus d.
func at(d time.Duration) time.Time { return epoch.Add(d) }

// objs makes objects of the given keys, each with a 10-byte value.
func objs(keys ...string) []Object {
	out := make([]Object, len(keys))
	for i, k := range keys {
		out[i] = Object{Key: []byte(k), Value: []byte("0123456789")}
	}
	return out
}

// batch makes batch seq of session with the keys given, its position the
// last key (or last when set).
func batch(session, seq uint64, done bool, keys ...string) *Batch {
	b := &Batch{Partition: testID().Partition, Session: session, Seq: seq, Objects: objs(keys...), Done: done}
	if len(keys) > 0 {
		b.Last = []byte(keys[len(keys)-1])
	}
	return b
}

// mustNew starts a transfer of testID at epoch, failing the test on error.
func mustNew(t *testing.T, cfg Config, cursor string) *Transfer {
	t.Helper()
	var c []byte
	if cursor != "" {
		c = []byte(cursor)
	}
	tr, err := New(cfg, testID(), c, epoch)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// wantOpen takes a Ready that must hold an Open of session after cursor.
func wantOpen(t *testing.T, rd Ready, session uint64, after string) *Open {
	t.Helper()
	if rd.Open == nil {
		t.Fatalf("no Open in %+v", rd)
	}
	if rd.Open.Session != session || string(rd.Open.After) != after || rd.Open.ID != testID() {
		t.Fatalf("open %+v, want session %d after %q", rd.Open, session, after)
	}
	if err := rd.Open.Check(); err != nil {
		t.Fatalf("our own open: %v", err)
	}
	return rd.Open
}

// wantMerge takes a Ready that must hold the merge of (session, seq) with
// cursor, and commits it at now.
func commit(t *testing.T, tr *Transfer, now time.Time, session, seq uint64, cursor string) Ready {
	t.Helper()
	rd := tr.Ready()
	if rd.Merge == nil || rd.Merge.Session != session || rd.Merge.Seq != seq || string(rd.Merge.Cursor) != cursor {
		t.Fatalf("merge %+v, want session %d seq %d cursor %q", rd.Merge, session, seq, cursor)
	}
	tr.Durable(now, session, seq)
	return tr.Ready()
}

// wantAcks checks a Ready's acks: seqs of session, in order.
func wantAcks(t *testing.T, rd Ready, session uint64, seqs ...uint64) {
	t.Helper()
	if len(rd.Acks) != len(seqs) {
		t.Fatalf("acks %+v, want seqs %v", rd.Acks, seqs)
	}
	for i, a := range rd.Acks {
		if a.Session != session || a.Seq != seqs[i] {
			t.Fatalf("ack %d: %+v, want session %d seq %d", i, a, session, seqs[i])
		}
	}
}

// wantClosed takes a Ready that must close the session and wait until
// wake, with no Open.
func wantClosed(t *testing.T, rd Ready, wake time.Time) {
	t.Helper()
	if !rd.Close || rd.Open != nil || !rd.Wake.Equal(wake) || rd.Done {
		t.Fatalf("ready %+v, want Close and Wake %v", rd, wake)
	}
}

var errCut = errors.New("link cut")

func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 3)) }
