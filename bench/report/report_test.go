package report

import (
	"bytes"
	"encoding/csv"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoalkv/shoal/bench/measure"
	"github.com/shoalkv/shoal/bench/runner"
	"github.com/shoalkv/shoal/bench/workload"
)

func result(open bool) *runner.Result {
	rec := measure.NewRecorder(open)
	for i := 1; i <= 100; i++ {
		rec.Record(workload.Read, workload.OK, time.Duration(i)*time.Millisecond, time.Millisecond)
	}
	rec.Record(workload.Read, workload.NotFound, time.Millisecond, time.Millisecond)
	rec.Record(workload.Update, workload.Error, 3*time.Second, 3*time.Second)
	res := &runner.Result{Summary: measure.Merge([]*measure.Recorder{rec}), RunTime: 2 * time.Second, Threads: 1}
	if open {
		res.Target, res.Backlog = 200, 7
	}
	return res
}

// fields reads a text summary into "[METRIC], Name" -> value, so that tests
// compare whole values, never prefixes.
func fields(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		i := strings.LastIndex(line, ", ")
		if i < 0 || !strings.HasPrefix(line, "[") {
			t.Fatalf("not a summary line: %q", line)
		}
		if _, dup := m[line[:i]]; dup {
			t.Fatalf("%s twice", line[:i])
		}
		m[line[:i]] = line[i+2:]
	}
	return m
}

// checkFields compares exact values (want) and, for latencies the histogram
// rounds, values within its 0.1% precision of the true one (near, in us).
func checkFields(t *testing.T, out string, want map[string]string, near map[string]float64) {
	t.Helper()
	got := fields(t, out)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for k, v := range near {
		g, err := strconv.ParseFloat(got[k], 64)
		if err != nil || math.Abs(g-v) > v*0.001 {
			t.Errorf("%s = %q, want %v within 0.1%%", k, got[k], v)
		}
	}
}

func TestTextIsYCSBFormat(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, Measurements(result(false), []float64{95, 99, 99.9})); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	checkFields(t, out, map[string]string{
		"[OVERALL], RunTime(ms)":         "2000",
		"[OVERALL], Throughput(ops/sec)": "51.000",
		"[READ], Operations":             "101",
		"[READ], MinLatency(us)":         "1000",
		"[READ], Return=OK":              "100",
		"[READ], Return=NOT_FOUND":       "1",
		"[UPDATE], Operations":           "0",
		"[UPDATE], Return=OK":            "0",
		"[UPDATE], Return=ERROR":         "1",
		"[UPDATE-FAILED], Operations":    "1",
	}, map[string]float64{
		// 95th of 1..100 ms and one 1 ms read: 95 ms; the 99.9th is the
		// largest, 100 ms; the mean is 50,010 us.
		"[READ], 95thPercentileLatency(us)":   95000,
		"[READ], 99thPercentileLatency(us)":   99000,
		"[READ], 99.9thPercentileLatency(us)": 100000,
		"[READ], MaxLatency(us)":              100000,
		"[READ], AverageLatency(us)":          50010,
		"[UPDATE-FAILED], MaxLatency(us)":     3000000,
	})
	if strings.Contains(out, "SERVICE") || strings.Contains(out, "Backlog") {
		t.Errorf("closed-loop summary has open-loop lines:\n%s", out)
	}
}

func TestOpenLoopSummaryAddsServiceAndBacklog(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, Measurements(result(true), DefaultPercentiles)); err != nil {
		t.Fatal(err)
	}
	checkFields(t, b.String(), map[string]string{
		"[OVERALL], TargetThroughput(ops/sec)": "200.000",
		"[OVERALL], Backlog(ops)":              "7",
		"[READ-SERVICE], Operations":           "101",
		"[READ-SERVICE], MaxLatency(us)":       "1000",
	}, map[string]float64{
		"[READ], 50thPercentileLatency(us)": 50000,
	})
}

func TestJSONAndCSV(t *testing.T) {
	ms := Measurements(result(false), DefaultPercentiles)
	var j bytes.Buffer
	if err := Write(&j, JSON, ms); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(j.String(), `"metric": "READ"`) || !strings.Contains(j.String(), `"measurement": "Return=OK"`) {
		t.Errorf("JSON is not YCSB's array shape:\n%s", j.String())
	}
	back, err := ReadJSON(&j)
	if err != nil || len(back) != len(ms) {
		t.Fatalf("read back %d measurements (%v), want %d", len(back), err, len(ms))
	}
	for i := range ms {
		if back[i].Metric != ms[i].Metric || back[i].Name != ms[i].Name || back[i].Value != ms[i].Value {
			t.Errorf("measurement %d: %+v, want %+v", i, back[i], ms[i])
		}
	}
	var c bytes.Buffer
	if err := Write(&c, CSV, ms); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&c).ReadAll()
	if err != nil || len(rows) != len(ms)+1 || rows[0][0] != "metric" || rows[1][1] != "RunTime(ms)" {
		t.Errorf("CSV: %d rows, %v", len(rows), err)
	}
	if err := Write(&c, "xml", ms); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestOrdinalAndPercentiles(t *testing.T) {
	for p, want := range map[float64]string{1: "1st", 2: "2nd", 3: "3rd", 11: "11th", 50: "50th", 95: "95th", 99: "99th", 99.9: "99.9th", 99.99: "99.99th"} {
		if got := Ordinal(p); got != want {
			t.Errorf("Ordinal(%v) = %s, want %s", p, got, want)
		}
	}
	ps, err := ParsePercentiles("50, 99,99.9")
	if err != nil || len(ps) != 3 || ps[2] != 99.9 {
		t.Errorf("ParsePercentiles = %v, %v", ps, err)
	}
	for _, bad := range []string{"", "0", "101", "x"} {
		if _, err := ParsePercentiles(bad); err == nil {
			t.Errorf("ParsePercentiles(%q) accepted", bad)
		}
	}
}

func TestStatusLine(t *testing.T) {
	iv := &measure.Interval{}
	rec := measure.NewRecorder(false)
	for range 50 {
		rec.Record(workload.Read, workload.OK, 2*time.Millisecond, 2*time.Millisecond)
	}
	rec.TakeInterval(iv)
	s := runner.Status{Elapsed: 10 * time.Second, Operations: 1234, Interval: 10 * time.Second, Ops: iv, Open: true, Backlog: 3}
	line := StatusLine(time.Date(2026, 11, 25, 16, 30, 10, 123e6, time.UTC), s)
	want := "2026-11-25 16:30:10:123 10 sec: 1234 operations; 5.0 current ops/sec; backlog 3; " +
		"[READ: Count=50, Avg=2004.0, 50=2007, 99=2007, 99.9=2007, Max=2007]" // 2 ms, as the histogram rounds it
	if line != want {
		t.Errorf("status line\n%q, want\n%q", line, want)
	}
}
