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

func TestTextIsYCSBFormat(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, Measurements(result(false), []float64{95, 99, 99.9})); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, line := range []string{
		"[OVERALL], RunTime(ms), 2000\n",
		"[OVERALL], Throughput(ops/sec), 51.000\n",
		"[READ], Operations, 101\n",
		"[READ], MinLatency(us), 1000\n",
		"[READ], 95thPercentileLatency(us), 95",
		"[READ], 99.9thPercentileLatency(us), 100",
		"[READ], Return=OK, 100\n",
		"[READ], Return=NOT_FOUND, 1\n",
		"[UPDATE], Operations, 0\n",
		"[UPDATE], Return=OK, 0\n",
		"[UPDATE], Return=ERROR, 1\n",
		"[UPDATE-FAILED], Operations, 1\n",
		"[UPDATE-FAILED], MaxLatency(us), 300",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("summary lacks %q:\n%s", line, out)
		}
	}
	if strings.Contains(out, "SERVICE") || strings.Contains(out, "Backlog") {
		t.Errorf("closed-loop summary has open-loop lines:\n%s", out)
	}
	// The average is the mean of 1..100 ms and one 1 ms read: 50,010 us,
	// within the histogram's 0.1%.
	_, avg, _ := strings.Cut(out, "[READ], AverageLatency(us), ")
	avg, _, _ = strings.Cut(avg, "\n")
	if v, err := strconv.ParseFloat(avg, 64); err != nil || math.Abs(v-50010) > 50 {
		t.Errorf("average latency %q, want 50010 within 0.1%%", avg)
	}
}

func TestOpenLoopSummaryAddsServiceAndBacklog(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, Measurements(result(true), DefaultPercentiles)); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"[OVERALL], TargetThroughput(ops/sec), 200.000", "[OVERALL], Backlog(ops), 7",
		"[READ-SERVICE], Operations, 101", "[READ-SERVICE], MaxLatency(us), 1000", "[READ], 50thPercentileLatency(us), 50"} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("lacks %q:\n%s", line, b.String())
		}
	}
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
	for _, part := range []string{"2026-11-25 16:30:10:123 10 sec: 1234 operations; 5.0 current ops/sec;", "backlog 3;", "[READ: Count=50, Avg=200", "50=20"} {
		if !strings.Contains(line, part) {
			t.Errorf("status line %q lacks %q", line, part)
		}
	}
}
