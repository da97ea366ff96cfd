package main

import "testing"

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
