package verify

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// WriteHTML writes one self-contained page: the summary and a timeline of
// operations by outcome per second, with the faults drawn as bands. It
// loads nothing from anywhere, as the bench report does not.
func (r *Report) WriteHTML(w io.Writer) error {
	var text strings.Builder
	r.WriteText(&text)
	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ringkv verify</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1040px}
pre{background:#f6f6f6;padding:12px;overflow-x:auto;font-size:13px}
svg{background:#fff;border:1px solid #ddd}
svg text{font:12px system-ui,sans-serif;fill:#333}
</style></head><body>
<h1 style="font-size:21px">ringkv verify, seed %d</h1>
<pre>%s</pre>
<h2 style="font-size:17px">Operations per second by outcome; faults as bands</h2>
%s</body></html>
`, r.Seed, html.EscapeString(text.String()), r.timelineSVG())
	_, err := io.WriteString(w, b.String())
	return err
}

const (
	svgW, svgH       = 960, 340
	marginL, marginR = 60, 20
	marginT, marginB = 40, 40
)

var outcomeColors = [3]string{"#2ca02c", "#ff7f0e", "#d62728"} // ok, indeterminate, failed

// timelineSVG draws stacked bars per second and the fault bands under them.
func (r *Report) timelineSVG() string {
	seconds := max(len(r.Timeline), int(r.HealedAt.Seconds())+1, 1)
	top := 1
	for _, bin := range r.Timeline {
		top = max(top, bin.OK+bin.Info+bin.Fail)
	}
	x := func(s float64) float64 { return marginL + s/float64(seconds)*(svgW-marginL-marginR) }
	y := func(v int) float64 { return svgH - marginB - float64(v)/float64(top)*(svgH-marginT-marginB) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", svgW, svgH, svgW, svgH)
	for _, e := range r.Events {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#9467bd" fill-opacity="0.18"/><text x="%.1f" y="%d">%s</text>`+"\n",
			x(e.Start.Seconds()), marginT, x(e.End.Seconds())-x(e.Start.Seconds()), svgH-marginT-marginB,
			x(e.Start.Seconds())+2, marginT-4, html.EscapeString(e.describe()))
	}
	w := x(1) - x(0)
	for _, bin := range r.Timeline {
		base := 0
		for i, v := range [3]int{bin.OK, bin.Info, bin.Fail} {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n",
				x(float64(bin.Second))+1, y(base+v), w-2, y(base)-y(base+v), outcomeColors[i])
			base += v
		}
	}
	r.axes(&b, x, y, top, seconds)
	b.WriteString("</svg>\n")
	return b.String()
}

// axes draws the axes, their labels, the heal line and the legend.
func (r *Report) axes(b *strings.Builder, x func(float64) float64, y func(int) float64, top, seconds int) {
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#888"/>`+"\n", marginL, svgW-marginR, svgH-marginB, svgH-marginB)
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#888"/>`+"\n", marginL, marginL, marginT, svgH-marginB)
	fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%d</text><text x="%d" y="%.1f" text-anchor="end">0</text>`+"\n",
		marginL-6, y(top)+4, top, marginL-6, y(0)+4)
	step := max(1, seconds/10)
	for s := 0; s <= seconds; s += step {
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%ds</text>`+"\n", x(float64(s)), svgH-marginB+16, s)
	}
	hx := x(r.HealedAt.Seconds())
	fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#1f77b4" stroke-dasharray="4 3"/><text x="%.1f" y="%d">healed</text>`+"\n",
		hx, hx, marginT, svgH-marginB, hx+3, marginT+12)
	for i, name := range [3]string{"ok", "indeterminate", "failed"} {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			marginL+i*130, svgH-16, outcomeColors[i], marginL+18+i*130, svgH-6, name)
	}
}
