package antientropy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shoalkv/shoal/wire"
)

// TestRepairTally: a scripted repair of 3 partitions with two peers each:
// keys count as they are repaired, failures are listed with their partition
// and peer, the duration runs until End and then stays, and Progress shares
// nothing with the tally.
func TestRepairTally(t *testing.T) {
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := NewRepair(7, 3, t0)
	if err != nil {
		t.Fatal(err)
	}
	down := errors.New("dial: no answer")
	r.Repaired(2)
	r.Exchanged(0, "n2", nil)
	r.Exchanged(0, "n3", down)
	r.PartitionDone()
	r.Repaired(1)
	r.Exchanged(5, "n2", nil)
	r.Exchanged(5, "n3", fmt.Errorf("skipped: n3 failed earlier: %w", down))
	r.PartitionDone()

	mid := r.Progress(t0.Add(1500 * time.Millisecond))
	want := wire.RepairProgress{
		ID: 7, Running: true, Partitions: 3, PartitionsDone: 2, Exchanges: 2, Failed: 2, KeysRepaired: 3,
		StartedMS: t0.UnixMilli(), TookMS: 1500,
		Failures: wire.RepairFailures{
			{Partition: 0, Peer: "n3", Error: "dial: no answer"},
			{Partition: 5, Peer: "n3", Error: "skipped: n3 failed earlier: dial: no answer"},
		},
	}
	if fmt.Sprint(mid) != fmt.Sprint(want) {
		t.Fatalf("mid-way progress\n%+v\nwant\n%+v", mid, want)
	}
	mid.Failures[0].Peer = "changed"
	r.Exchanged(6, "n2", nil)
	r.Exchanged(6, "n3", nil)
	r.PartitionDone()
	r.End(t0.Add(2 * time.Second))
	end := r.Progress(t0.Add(time.Hour))
	if end.Running || end.PartitionsDone != 3 || end.Exchanges != 4 || end.TookMS != 2000 || end.Failures[0].Peer != "n3" {
		t.Fatalf("after End: %+v; want stopped, 3 partitions, 4 exchanges, 2000ms, the first failure's peer n3", end)
	}
	if r.Running() {
		t.Fatal("Running after End")
	}
}

// TestRepairFailureBounds: past wire.MaxRepairFailures failures are counted
// and not listed, and a long error text is cut at a rune boundary.
func TestRepairFailureBounds(t *testing.T) {
	r, err := NewRepair(1, 1, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", wire.MaxRepairError) // 2 bytes a rune
	r.Exchanged(0, "n2", errors.New("x"+long))
	for range wire.MaxRepairFailures + 9 {
		r.Exchanged(0, "n3", errors.New("boom"))
	}
	p := r.Progress(time.Time{})
	if p.Failed != wire.MaxRepairFailures+10 || len(p.Failures) != wire.MaxRepairFailures {
		t.Fatalf("%d failed, %d listed; want %d, %d", p.Failed, len(p.Failures), wire.MaxRepairFailures+10, wire.MaxRepairFailures)
	}
	msg := p.Failures[0].Error
	if len(msg) != wire.MaxRepairError-1 || !strings.HasPrefix(msg, "xé") || !strings.HasSuffix(msg, "é") {
		t.Fatalf("cut error text: %d bytes, ends %q; want %d bytes of whole runes", len(msg), msg[len(msg)-4:], wire.MaxRepairError-1)
	}
	// What a node sends must decode.
	b, err := wire.Encode(&wire.RepairOK{Repair: p})
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.Decode(b, new(wire.RepairOK)); err != nil {
		t.Fatalf("a full failure list does not decode: %v", err)
	}
}

// TestRepairMisuse: an id of 0 is refused, and reporting after End or more
// partitions than the repair has panics (a bug in the shell).
func TestRepairMisuse(t *testing.T) {
	if _, err := NewRepair(0, 1, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("id 0: %v, want ErrInvalid", err)
	}
	if _, err := NewRepair(1, -1, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("-1 partitions: %v, want ErrInvalid", err)
	}
	for name, f := range map[string]func(r *Repair){
		"exchanged after end": func(r *Repair) { r.End(time.Time{}); r.Exchanged(0, "n2", nil) },
		"too many partitions": func(r *Repair) { r.PartitionDone(); r.PartitionDone() },
		"end twice":           func(r *Repair) { r.End(time.Time{}); r.End(time.Time{}) },
	} {
		t.Run(name, func(t *testing.T) {
			r, _ := NewRepair(1, 1, time.Time{})
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f(r)
		})
	}
}
