package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// WriteHTML writes one self-contained page: the summary table and three
// charts drawn as inline SVG (throughput and p99 per second, latency by
// percentile). It loads nothing: no scripts, styles or fonts from anywhere.
func (r *Result) WriteHTML(w io.Writer) error {
	var b strings.Builder
	title := fmt.Sprintf("bench: workload %s", orDash(r.Workload.Name))
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1040px}
pre{background:#f6f6f6;padding:12px;overflow-x:auto;font-size:13px}
h2{font-size:17px;margin:28px 0 6px}
svg{background:#fff;border:1px solid #ddd}
svg text{font:12px system-ui,sans-serif;fill:#333}
.grid{stroke:#e4e4e4}.axis{stroke:#888}
</style></head><body>
<h1 style="font-size:21px">%s</h1>
`, html.EscapeString(title), html.EscapeString(title))
	var text strings.Builder
	r.WriteText(&text)
	fmt.Fprintf(&b, "<pre>%s</pre>\n", html.EscapeString(text.String()))
	b.WriteString("<h2>Throughput over time</h2>\n")
	b.WriteString(throughputChart(&r.Run))
	b.WriteString("<h2>p99 latency over time</h2>\n")
	b.WriteString(p99Chart(&r.Run))
	b.WriteString("<h2>Latency by percentile</h2>\n")
	b.WriteString(percentileChart(&r.Run))
	fmt.Fprintf(&b, "<p>%s. %s.</p>\n</body></html>\n", html.EscapeString(r.Run.Model), html.EscapeString(LatencyNote))
	_, err := io.WriteString(w, b.String())
	return err
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"}

func throughputChart(p *Phase) string {
	ok := line{name: "successful ops/s", color: palette[0]}
	errs := line{name: "errors/s", color: "#d62728"}
	anyErr := false
	for _, s := range chartSeconds(p) {
		x := float64(s.T) + s.Length.Seconds()
		ok.pts = append(ok.pts, point{x, s.OpsPerSec})
		errs.pts = append(errs.pts, point{x, float64(s.Errors) / s.Length.Seconds()})
		anyErr = anyErr || s.Errors > 0
	}
	lines := []line{ok}
	if anyErr {
		lines = append(lines, errs)
	}
	return drawChart(chartSpec{xLabel: "seconds", yLabel: "ops/s", lines: lines,
		x: linearAxis(0, seriesEnd(p), formatTick), y: linearAxis(0, maxY(lines), formatTick)})
}

// chartSeconds leaves out a last second shorter than half a second: its
// few operations make a misleading spike.
func chartSeconds(p *Phase) []Second {
	s := p.Series
	if n := len(s); n > 1 && s[n-1].Length < time.Second/2 {
		s = s[:n-1]
	}
	return s
}

func seriesEnd(p *Phase) float64 {
	s := chartSeconds(p)
	if n := len(s); n > 0 {
		return float64(s[n-1].T) + s[n-1].Length.Seconds()
	}
	return 1
}

func p99Chart(p *Phase) string {
	l := line{name: "p99 (ms)", color: palette[1]}
	for _, s := range chartSeconds(p) {
		if s.Ops > 0 {
			l.pts = append(l.pts, point{float64(s.T) + s.Length.Seconds(), ms(s.P99)})
		}
	}
	lines := []line{l}
	return drawChart(chartSpec{xLabel: "seconds", yLabel: "ms", lines: lines,
		x: linearAxis(0, seriesEnd(p), formatTick), y: linearAxis(0, maxY(lines), formatTick)})
}

func percentileChart(p *Phase) string {
	var lines []line
	xmax := 1.0
	for i, s := range p.Ops {
		l := line{name: s.Op, color: palette[i%len(palette)]}
		for _, pt := range s.Percentiles {
			x := nines(pt.Percentile)
			xmax = math.Max(xmax, x)
			l.pts = append(l.pts, point{x, ms(pt.Latency)})
		}
		lines = append(lines, l)
	}
	var ticks []tick
	for n := 0.0; n <= xmax+1e-9; n++ {
		ticks = append(ticks, tick{n, percentLabel(n)})
	}
	return drawChart(chartSpec{xLabel: "percentile", yLabel: "ms", lines: lines,
		x: axis{0, xmax, ticks}, y: linearAxis(0, maxY(lines), formatTick)})
}

// nines maps a percentile to the log scale: 0 → 0, 90 → 1, 99 → 2 ...
func nines(p float64) float64 { return -math.Log10(1 - math.Min(p, 99.99999)/100) }

func percentLabel(n float64) string {
	if n == 0 {
		return "0%"
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.*f", int(n), 100*(1-math.Pow(10, -n))), "0"), ".") + "%"
}

type point struct{ x, y float64 }

type line struct {
	name, color string
	pts         []point
}

type tick struct {
	v     float64
	label string
}

type axis struct {
	min, max float64
	ticks    []tick
}

type chartSpec struct {
	xLabel, yLabel string
	x, y           axis
	lines          []line
}

func maxY(lines []line) float64 {
	m := 0.0
	for _, l := range lines {
		for _, p := range l.pts {
			m = math.Max(m, p.y)
		}
	}
	return m
}

// linearAxis covers lo..hi with about five round ticks.
func linearAxis(lo, hi float64, label func(float64) string) axis {
	if hi <= lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / 5)
	hi = math.Ceil(hi/step) * step
	a := axis{min: lo, max: hi}
	for v := lo; v <= hi+step/2; v += step {
		a.ticks = append(a.ticks, tick{v, label(v)})
	}
	return a
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func formatTick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

const (
	chartW, chartH         = 960, 320
	padL, padR, padT, padB = 70, 20, 34, 46
)

func drawChart(c chartSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", chartW, chartH, chartW, chartH)
	px := func(x float64) float64 { return padL + (x-c.x.min)/(c.x.max-c.x.min)*(chartW-padL-padR) }
	py := func(y float64) float64 { return chartH - padB - (y-c.y.min)/(c.y.max-c.y.min)*(chartH-padT-padB) }
	for _, t := range c.y.ticks {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			padL, chartW-padR, py(t.v), py(t.v), padL-6, py(t.v)+4, html.EscapeString(t.label))
	}
	for _, t := range c.x.ticks {
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			px(t.v), px(t.v), padT, chartH-padB, px(t.v), chartH-padB+16, html.EscapeString(t.label))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/><line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`+"\n",
		padL, chartW-padR, chartH-padB, chartH-padB, padL, padL, padT, chartH-padB)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text><text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`+"\n",
		(chartW+padL-padR)/2, chartH-8, html.EscapeString(c.xLabel), (chartH+padT-padB)/2, (chartH+padT-padB)/2, html.EscapeString(c.yLabel))
	for i, l := range c.lines {
		if len(l.pts) == 0 {
			continue
		}
		var pts strings.Builder
		for _, p := range l.pts {
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(p.x), py(p.y))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", l.color, strings.TrimSpace(pts.String()))
		if len(l.pts) == 1 {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(l.pts[0].x), py(l.pts[0].y), l.color)
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			padL+10+i*190, 10, l.color, padL+28+i*190, 21, html.EscapeString(l.name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}
