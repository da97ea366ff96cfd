package main

import (
	"errors"
	"testing"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
)

// TestReportSeparatesUpdateGets: the Gets inside updates are not reported
// as reads.
func TestReportSeparatesUpdateGets(t *testing.T) {
	var d db
	if got, want := d.Report(), "no reads or updates found a value"; got != want {
		t.Errorf("Report() = %q, want %q", got, want)
	}
	for _, n := range []int64{1, 1, 1, 2} {
		d.count(&d.reads, n)
	}
	if got, want := d.Report(), "1 of 4 reads (25.00%) found concurrent siblings, at most 2"; got != want {
		t.Errorf("Report() = %q, want %q", got, want)
	}
	d.count(&d.updateGets, 3)
	d.count(&d.updateGets, 1)
	want := "1 of 4 reads (25.00%) and 1 of 2 gets inside updates (50.00%) found concurrent siblings, at most 3"
	if got := d.Report(); got != want {
		t.Errorf("Report() = %q, want %q", got, want)
	}
}

// TestAELine: each node's anti-entropy and commit figures, a node with no
// full cycle yet and one that did not answer.
func TestAELine(t *testing.T) {
	sts := []driver.NodeStatus{
		{Node: ring.Node{ID: "n1"}, Info: wire.StatusOK{AEPartitions: 8192, AEFailed: 1, AEKeysRepaired: 7, AELastCycleMS: 1500, Writes: 90, Commits: 9}},
		{Node: ring.Node{ID: "n2"}, Info: wire.StatusOK{AEPartitions: 3}},
		{Node: ring.Node{ID: "n3"}, Err: errors.New("timeout")},
	}
	want := "anti-entropy and commits since the nodes started: n1 8192 exchanges (1 failed), 7 keys repaired, last cycle 1.5s; 90 writes in 9 commits; " +
		"n2 3 exchanges (0 failed), 0 keys repaired, no full cycle yet; 0 writes in 0 commits; n3 no status (timeout)"
	if got := aeLine(sts); got != want {
		t.Errorf("aeLine:\n got %q\nwant %q", got, want)
	}
}
