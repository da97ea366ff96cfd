package sweep

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/shoalkv/shoal/bench/measure"
	"github.com/shoalkv/shoal/bench/runner"
	"github.com/shoalkv/shoal/bench/workload"
)

func points() []Point {
	return []Point{
		{Label: "shoal", Target: 1000, Throughput: 998, P50: 900, P95: 2000, P99: 4000, P999: 9000},
		{Label: "shoal", Target: 2000, Throughput: 1990, P50: 1100, P95: 3000, P99: 6000, P999: 20000},
		{Label: "shoal", Target: 3000, Throughput: 2400, P50: 300000, P95: 900000, P99: 1200000, P999: 1300000, Backlog: 600},
		{Label: "etcd", Target: 1000, Throughput: 1000, P50: 2000, P95: 4000, P99: 7000, P999: 12000},
		{Label: "etcd", Target: 2000, Throughput: 1500, P50: 500000, P95: 800000, P99: 990000, P999: 999000, Errors: 3},
	}
}

func TestCSVRoundTripAndSeries(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, points()); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(&b)
	if err != nil {
		t.Fatal(err)
	}
	want := points()
	if len(back) != len(want) {
		t.Fatalf("read %d points, want %d", len(back), len(want))
	}
	for i := range want {
		if back[i] != want[i] {
			t.Errorf("point %d: %+v, want %+v", i, back[i], want[i])
		}
	}
	s := Series(back)
	if len(s) != 2 || s[0][0].Label != "shoal" || len(s[0]) != 3 || len(s[1]) != 2 {
		t.Errorf("series: %v", s)
	}
	if _, err := ReadCSV(strings.NewReader("a,b\n1,2\n")); err == nil {
		t.Error("a CSV with another header was accepted")
	}
}

// TestCSVMarksSaturationAndReadsOldFiles: each row says whether its step
// saturated; files written before that column existed still read.
func TestCSVMarksSaturationAndReadsOldFiles(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, points()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		"label,target_ops,throughput_ops,p50_us,p95_us,p99_us,p999_us,errors,backlog,saturated",
		"shoal,1000.0,998.0,900,2000,4000,9000,0,0,false",
		"shoal,2000.0,1990.0,1100,3000,6000,20000,0,0,false",
		"shoal,3000.0,2400.0,300000,900000,1200000,1300000,0,600,true",
		"etcd,1000.0,1000.0,2000,4000,7000,12000,0,0,false",
		"etcd,2000.0,1500.0,500000,800000,990000,999000,3,0,true",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("CSV:\n%s\nwant:\n%s", b.String(), strings.Join(want, "\n"))
	}
	old := "label,target_ops,throughput_ops,p50_us,p95_us,p99_us,p999_us,errors,backlog\nshoal,3000.0,2400.0,1,2,3,4,0,600\n"
	pts, err := ReadCSV(strings.NewReader(old))
	if err != nil || len(pts) != 1 || pts[0].Backlog != 600 || !pts[0].Saturated() {
		t.Errorf("old CSV: %+v, %v", pts, err)
	}
}

func TestSaturated(t *testing.T) {
	p := points()
	if p[0].Saturated() || !p[2].Saturated() || !p[4].Saturated() {
		t.Error("saturation misjudged")
	}
}

func TestSVGIsWellFormedAndDrawsEverySeries(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSVG(&b, "workload A: Shoal & etcd", Series(points())); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	polylines, hollow := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "polyline":
				polylines++
			case "circle":
				for _, a := range se.Attr {
					if a.Name.Local == "fill" && a.Value == "white" {
						hollow++
					}
				}
			}
		}
	}
	if polylines != 2*len(curves) {
		t.Errorf("%d polylines, want %d (2 series x %d percentiles)", polylines, 2*len(curves), len(curves))
	}
	if hollow != 2*len(curves)+1 { // two saturated points, plus the legend's marker
		t.Errorf("%d hollow markers, want %d", hollow, 2*len(curves)+1)
	}
	for _, s := range []string{"Shoal &amp; etcd", ">shoal<", ">etcd<", "1 s", "1 ms", "percentiles exclude",
		"target 3k/s, achieved 2.4k/s, 1.2 s, saturated, backlog 600 (due, never started, not in the percentiles)</title>"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("SVG lacks %q", s)
		}
	}
	if err := WriteSVG(&b, "empty", nil); err == nil {
		t.Error("an empty chart was drawn")
	}
}

func TestPointOfMergesOperations(t *testing.T) {
	rec := measure.NewRecorder(true)
	for i := range 100 {
		rec.Record(workload.Read, workload.OK, time.Duration(i+1)*time.Millisecond, time.Millisecond)
	}
	rec.Record(workload.Update, workload.Error, time.Second, time.Second)
	res := &runner.Result{Summary: measure.Merge([]*measure.Recorder{rec}), RunTime: time.Second, Target: 200, Backlog: 4}
	p := PointOf("x", res)
	if p.Throughput != 101 || p.Errors != 1 || p.Backlog != 4 || p.Target != 200 {
		t.Errorf("point %+v", p)
	}
	if p.P50 < 50_000 || p.P50 > 51_100 || p.P999 < 999_000 {
		t.Errorf("percentiles p50 %d p99.9 %d", p.P50, p.P999)
	}
}

func TestRatesAndNiceStep(t *testing.T) {
	if r := Rates(500, 250, 4); len(r) != 4 || r[3] != 1250 {
		t.Errorf("Rates = %v", r)
	}
	for raw, want := range map[float64]float64{0.7: 1, 1.5: 2, 3: 5, 7: 10, 430: 500} {
		if got := niceStep(raw); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", raw, got, want)
		}
	}
}
