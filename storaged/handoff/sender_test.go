package handoff

import (
	"errors"
	"testing"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/hint"
)

func testOpen() *Open {
	return &Open{ID: testID(), Session: 1, After: []byte("a"), Window: 2, MaxObjects: 3, MaxBytes: 1000}
}

func TestBatcherLimits(t *testing.T) {
	b := Read{MaxObjects: 3, MaxBytes: 1 << 20}.Batcher()
	for i, k := range []string{"a", "b", "c"} {
		if !b.Add([]byte(k), nil) {
			t.Fatalf("object %d refused", i)
		}
	}
	if !b.Full() || b.Add([]byte("d"), nil) || len(b.Objects()) != 3 || b.Bytes() != 3*(1+objectOverhead) {
		t.Fatalf("objects %d bytes %d", len(b.Objects()), b.Bytes())
	}

	// Bytes: the batch closes once it holds MaxBytes; the object that
	// crosses the limit is in, the next is not.
	b = Read{MaxObjects: 100, MaxBytes: 100}.Batcher()
	v := make([]byte, 40)
	got := 0
	for b.Add([]byte("k"), v) {
		got++
	}
	if got != 2 || b.Bytes() != 2*(1+40+objectOverhead) {
		t.Fatalf("took %d (%d bytes)", got, b.Bytes())
	}
	// The first object goes whatever its size.
	b = Read{MaxObjects: 100, MaxBytes: 100}.Batcher()
	if !b.Add([]byte("k"), make([]byte, 5000)) || !b.Full() {
		t.Fatal("a large first object refused")
	}
}

func TestSenderWindow(t *testing.T) {
	s, err := NewSender(Config{MaxObjects: 2}, testOpen())
	if err != nil {
		t.Fatal(err)
	}
	r, ok := s.Next()
	if !ok || string(r.After) != "a" || r.MaxObjects != 2 || r.MaxBytes != 1000 {
		t.Fatalf("read %+v %v: want after a, the smaller limits", r, ok)
	}
	if _, ok := s.Next(); ok {
		t.Fatal("two reads out")
	}
	b1 := s.Seal(objs("b", "c"), []byte("c"), false)
	r, _ = s.Next()
	b2 := s.Seal(objs("d"), []byte("e"), false)
	if b1.Seq != 1 || b2.Seq != 2 || string(r.After) != "c" || b2.Session != 1 || b2.Partition != 7 {
		t.Fatalf("batches %+v %+v", b1, b2)
	}
	if _, ok := s.Next(); ok {
		t.Fatal("a read beyond the window")
	}
	if err := s.Ack(&Ack{Partition: 7, Session: 1, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(&Ack{Partition: 7, Session: 1, Seq: 1}); err != nil { // again: ignored
		t.Fatal(err)
	}
	r, ok = s.Next()
	if !ok || string(r.After) != "e" {
		t.Fatalf("read %+v %v after an ack", r, ok)
	}
	s.Seal(nil, []byte("e"), true)
	if _, ok := s.Next(); ok || s.Finished() {
		t.Fatal("reading after done, or finished before the acks")
	}
	for _, a := range []Ack{{Partition: 7, Session: 2, Seq: 1}, {Partition: 8, Session: 1, Seq: 1}, {Partition: 7, Session: 1, Seq: 4}} {
		if err := s.Ack(&a); !errors.Is(err, ErrMalformed) {
			t.Errorf("Ack(%+v) = %v", a, err)
		}
	}
	if err := s.Ack(&Ack{Partition: 7, Session: 1, Seq: 3}); err != nil || !s.Finished() {
		t.Fatalf("cumulative ack: %v, finished %v", err, s.Finished())
	}
	if st := s.Stats(); st != (SenderStats{Batches: 3, Objects: 3, Bytes: 3 * 27}) {
		t.Fatalf("stats %+v", st)
	}
}

// The sender's batches pass the receiver's checks.
func TestSenderBatchesAccepted(t *testing.T) {
	src := source(newRand(1), 300, 500)
	w := newWorld(1, Config{MaxObjects: 7, MaxBytes: 900}, src)
	if !w.run(time.Minute) || len(w.missing()) > 0 {
		t.Fatal("transfer did not finish")
	}
}

func TestSenderMisuse(t *testing.T) {
	bad := testOpen()
	bad.Window = 0
	if _, err := NewSender(Config{}, bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("NewSender(window 0) = %v", err)
	}
	if _, err := NewSender(Config{Window: -1}, testOpen()); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewSender(bad config) = %v", err)
	}
	s, _ := NewSender(Config{}, testOpen())
	mustPanic(t, "Seal with no read", func() { s.Seal(nil, []byte("b"), false) })
	s.Next()
	mustPanic(t, "Seal standing still", func() { s.Seal(nil, []byte("a"), false) })
}

// The throttle is hint's token bucket, paid in Batch.Bytes.
func TestSenderThrottle(t *testing.T) {
	b := &Batch{Objects: objs("a", "b")}
	bucket := hint.NewTokenBucket(int64(b.Bytes()), epoch)
	if w := bucket.Reserve(epoch, b.Bytes()); w != 0 {
		t.Fatalf("first batch waits %v", w)
	}
	if w := bucket.Reserve(epoch, b.Bytes()); w != time.Second {
		t.Fatalf("second batch waits %v, want 1s at one batch a second", w)
	}
}

func TestOpenCheck(t *testing.T) {
	mods := map[string]func(*Open){
		"no from":     func(o *Open) { o.From = "" },
		"no to":       func(o *Open) { o.To = "" },
		"long id":     func(o *Open) { o.To = ring.NodeID(make([]byte, 256)) },
		"session 0":   func(o *Open) { o.Session = 0 },
		"long cursor": func(o *Open) { o.After = make([]byte, MaxKeyCeiling+1) },
		"window":      func(o *Open) { o.Window = MaxWindow + 1 },
		"objects":     func(o *Open) { o.MaxObjects = 0 },
		"bytes":       func(o *Open) { o.MaxBytes = MaxBatchBytes + 1 },
	}
	if err := testOpen().Check(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range mods {
		o := testOpen()
		mod(o)
		if err := o.Check(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
