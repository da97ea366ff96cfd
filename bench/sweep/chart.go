package sweep

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 860, 500
	padL, padR     = 72, 210
	padT, padB     = 48, 56
)

var seriesColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// percentile curves drawn per series.
var curves = []struct {
	name  string
	dash  string
	value func(Point) int64
}{
	{"p50", "6 4", func(p Point) int64 { return p.P50 }},
	{"p99", "", func(p Point) int64 { return p.P99 }},
	{"p99.9", "2 3", func(p Point) int64 { return p.P999 }},
}

// WriteSVG draws latency (log scale) against achieved throughput, one
// colour per series and one dash style per percentile; saturated steps are
// drawn as hollow markers. It writes a self-contained SVG file.
func WriteSVG(w io.Writer, title string, series [][]Point) error {
	var maxX float64
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s {
			maxX = math.Max(maxX, p.Throughput)
			for _, c := range curves {
				if v := float64(c.value(p)); v > 0 {
					minY, maxY = math.Min(minY, v), math.Max(maxY, v)
				}
			}
		}
	}
	if maxX == 0 || math.IsInf(minY, 0) {
		return fmt.Errorf("sweep: nothing to chart")
	}
	xStep := niceStep(maxX / 5)
	xMax := math.Ceil(maxX*1.05/xStep) * xStep
	yLo, yHi := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
	if yHi == yLo {
		yHi++
	}
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	px := func(x float64) float64 { return padL + x/xMax*plotW }
	py := func(us float64) float64 { return padT + (yHi-math.Log10(us))/(yHi-yLo)*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", padL, html.EscapeString(title))
	// Grid and axes.
	for x := 0.0; x <= xMax+xStep/2; x += xStep {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", px(x), padT, px(x), chartH-padB)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(x), chartH-padB+16, formatRate(x))
	}
	for d := yLo; d <= yHi; d++ {
		us := math.Pow(10, d)
		if d < yHi {
			for _, m := range []float64{2, 5} {
				fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#f0f0f0"/>`+"\n", padL, py(m*us), chartW-padR, py(m*us))
			}
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", padL, py(us), chartW-padR, py(us))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-6, py(us)+4, formatMicros(us))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", padL, padT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">achieved throughput (operations/s)</text>`+"\n", padL+plotW/2, chartH-14)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">latency from intended start (log scale)</text>`+"\n", padT+plotH/2)
	// Curves.
	for i, s := range series {
		color := seriesColors[i%len(seriesColors)]
		for _, c := range curves {
			var pts []string
			for _, p := range s {
				if v := c.value(p); v > 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.Throughput), py(float64(v))))
				}
			}
			dash := ""
			if c.dash != "" {
				dash = fmt.Sprintf(` stroke-dasharray="%s"`, c.dash)
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", color, dash, strings.Join(pts, " "))
			for _, p := range s {
				if v := c.value(p); v > 0 {
					fill := color
					if p.Saturated() {
						fill = "white"
					}
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s" stroke="%s"><title>%s %s: target %s/s, achieved %s/s, %s%s</title></circle>`+"\n",
						px(p.Throughput), py(float64(v)), fill, color, html.EscapeString(p.Label), c.name,
						formatRate(p.Target), formatRate(p.Throughput), formatMicros(float64(v)), pointNote(p))
				}
			}
		}
	}
	// Legend.
	lx, ly := float64(chartW-padR+16), float64(padT+8)
	for i, s := range series {
		color := seriesColors[i%len(seriesColors)]
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="14" height="10" fill="%s"/>`+"\n", lx, ly-9, color)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", lx+20, ly, html.EscapeString(s[0].Label))
		ly += 20
	}
	ly += 8
	for _, c := range curves {
		dash := ""
		if c.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, c.dash)
		}
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333" stroke-width="2"%s/>`+"\n", lx, ly-4, lx+30, ly-4, dash)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", lx+36, ly, c.name)
		ly += 18
	}
	fmt.Fprintf(&b, `<circle cx="%.0f" cy="%.0f" r="3" fill="white" stroke="#333"/>`+"\n", lx+15, ly-4)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">saturated step</text>`+"\n", lx+36, ly)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#555">(below %.0f%% of target)</text>`+"\n", lx+36, ly+15, SaturationRatio*100)
	if anyBacklog(series) {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#555">percentiles exclude</text>`+"\n", lx, ly+36)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#555">operations never started</text>`+"\n", lx, ly+51)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#555">(backlog, in each tooltip)</text>`+"\n", lx, ly+66)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func formatRate(x float64) string {
	if x >= 1000 {
		return fmt.Sprintf("%gk", math.Round(x/100)/10)
	}
	return fmt.Sprintf("%g", math.Round(x))
}

func formatMicros(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%g s", math.Round(us/1e4)/100)
	case us >= 1e3:
		return fmt.Sprintf("%g ms", math.Round(us/10)/100)
	}
	return fmt.Sprintf("%g µs", math.Round(us))
}

// pointNote is the tail of a marker's tooltip: saturation and the backlog
// the percentiles exclude.
func pointNote(p Point) string {
	note := ""
	if p.Saturated() {
		note += ", saturated"
	}
	if p.Backlog > 0 {
		note += fmt.Sprintf(", backlog %d (due, never started, not in the percentiles)", p.Backlog)
	}
	return note
}

func anyBacklog(series [][]Point) bool {
	for _, s := range series {
		for _, p := range s {
			if p.Backlog > 0 {
				return true
			}
		}
	}
	return false
}
