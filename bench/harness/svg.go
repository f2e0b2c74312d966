package harness

import (
	"fmt"
	"math"
	"strings"
)

// Hand-written SVG: a horizontal bar chart per workload and a 2×2 log-log
// panel for the scaling curve.

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func esc(s string) string { return xmlEscaper.Replace(s) }

const svgFont = `font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"`

func barColor(store string) string {
	switch {
	case store == "dbrs":
		return "#d9480f"
	case strings.HasPrefix(store, "raw"):
		return "#868e96"
	}
	return "#4c6ef5"
}

// niceStep returns a step of 1, 2 or 5 × 10^k near x.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func barChart(w WorkloadResult) string {
	const (
		width  = 720
		left   = 120
		right  = 90
		top    = 52
		rowH   = 26
		barH   = 16
		bottom = 28
	)
	var cells []Cell
	hi := 0.0
	for _, c := range w.Cells {
		cells = append(cells, c)
		hi = max(hi, c.Max, c.Median)
	}
	if hi <= 0 {
		hi = 1
	}
	step := niceStep(hi / 5)
	axisMax := math.Ceil(hi/step) * step
	plotW := float64(width - left - right)
	x := func(v float64) float64 { return float64(left) + v/axisMax*plotW }
	height := top + rowH*len(cells) + bottom
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s font-size="12">`+"\n", width, height, width, height, svgFont)
	p(`<rect width="100%%" height="100%%" fill="#fff"/>` + "\n")
	better := "higher is better"
	if w.LowerIsBetter {
		better = "lower is better"
	}
	p(`<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", 8, esc(w.Title))
	p(`<text x="%d" y="38" fill="#555">%s, median of rounds; %s</text>`+"\n", 8, esc(w.Unit), better)
	// Grid and ticks.
	axisY := top + rowH*len(cells)
	for v := 0.0; v <= axisMax+step/2; v += step {
		xv := x(v)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e9ecef"/>`+"\n", xv, top-4, xv, axisY)
		p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#555" font-size="11">%s</text>`+"\n", xv, axisY+16, esc(fmtTick(v)))
	}
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#adb5bd"/>`+"\n", left, top-4, left, axisY)
	for i, c := range cells {
		y := top + i*rowH
		cy := float64(y) + rowH/2.0 - 2
		weight := "normal"
		if c.Store == "dbrs" {
			weight = "bold"
		}
		p(`<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" font-weight="%s">%s</text>`+"\n", left-8, cy, weight, esc(c.Store))
		if c.OK == 0 {
			p(`<text x="%d" y="%.1f" dominant-baseline="middle" fill="#c92a2a">error</text>`+"\n", left+6, cy)
			continue
		}
		p(`<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="%s" rx="2"/>`+"\n", left, cy-barH/2.0, x(c.Median)-float64(left), barH, barColor(c.Store))
		if c.OK > 1 {
			p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#212529"/>`+"\n", x(c.Min), cy, x(c.Max), cy)
			for _, v := range []float64{c.Min, c.Max} {
				p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#212529"/>`+"\n", x(v), cy-4, x(v), cy+4)
			}
		}
		p(`<text x="%.1f" y="%.1f" dominant-baseline="middle" fill="#212529">%s</text>`+"\n", max(x(c.Median), x(c.Max))+6, cy, esc(fmtNum(c.Median)))
	}
	p("</svg>\n")
	return b.String()
}

// logTicks lists the powers of ten within [lo, hi].
func logTicks(lo, hi float64) []float64 {
	var out []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		if v := math.Pow(10, e); v >= lo*0.999 && v <= hi*1.001 {
			out = append(out, v)
		}
	}
	return out
}

func scalingChart(sc *Scaling) string {
	const (
		panelW = 360
		panelH = 250
		padL   = 58
		padR   = 16
		padT   = 46
		padB   = 40
	)
	var pts []ScalePoint
	for _, p := range sc.Points {
		if p.Err == "" {
			pts = append(pts, p)
		}
	}
	panels := []struct {
		title, unit string
		f           func(ScalePoint) float64
	}{
		{"open time (fresh process, to first Get)", "ms", func(p ScalePoint) float64 { return p.OpenMs }},
		{"RSS above the process before open", "MB", func(p ScalePoint) float64 { return float64(p.RSS-p.BaselineRSS) / 1e6 }},
		{"compaction time (db.Compact)", "ms", func(p ScalePoint) float64 { return p.CompactMs }},
		{"log size after compaction", "MB", func(p ScalePoint) float64 { return float64(p.CompactBytes) / 1e6 }},
	}
	width, height := 2*panelW, 2*panelH+30
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s font-size="11">`+"\n", width, height, width, height, svgFont)
	p(`<rect width="100%%" height="100%%" fill="#fff"/>` + "\n")
	p(`<text x="8" y="20" font-size="14" font-weight="bold">dbrs scaling with the record count (log-log; dashed: slope 1 through the largest point)</text>` + "\n")
	for i, pn := range panels {
		ox, oy := (i%2)*panelW, 30+(i/2)*panelH
		var xs, ys []float64
		for _, pt := range pts {
			if v := pn.f(pt); v > 0 {
				xs = append(xs, float64(pt.N))
				ys = append(ys, v)
			}
		}
		verdict := ""
		if sc.Fits != nil && i < len(sc.Fits) {
			verdict, _, _ = strings.Cut(sc.Fits[i].Verdict, " (")
			verdict, _, _ = strings.Cut(verdict, ":")
		}
		p(`<text x="%d" y="%d" font-size="12" font-weight="bold">%s, %s</text>`+"\n", ox+10, oy+18, esc(pn.title), esc(pn.unit))
		if verdict != "" {
			p(`<text x="%d" y="%d" fill="#555">%s</text>`+"\n", ox+10, oy+33, esc(verdict))
		}
		if len(xs) < 2 {
			p(`<text x="%d" y="%d" fill="#c92a2a">not enough points</text>`+"\n", ox+padL, oy+panelH/2)
			continue
		}
		xlo, xhi := xs[0], xs[len(xs)-1]
		ylo, yhi := ys[0], ys[0]
		for _, y := range ys {
			ylo, yhi = min(ylo, y), max(yhi, y)
		}
		xlo, xhi = math.Pow(10, math.Floor(math.Log10(xlo))), math.Pow(10, math.Ceil(math.Log10(xhi)))
		ylo, yhi = math.Pow(10, math.Floor(math.Log10(ylo))), math.Pow(10, math.Ceil(math.Log10(yhi)))
		if yhi <= ylo {
			yhi = ylo * 10
		}
		pw, ph := float64(panelW-padL-padR), float64(panelH-padT-padB)
		px := func(v float64) float64 {
			return float64(ox+padL) + (math.Log10(v)-math.Log10(xlo))/(math.Log10(xhi)-math.Log10(xlo))*pw
		}
		py := func(v float64) float64 {
			return float64(oy+padT) + ph - (math.Log10(v)-math.Log10(ylo))/(math.Log10(yhi)-math.Log10(ylo))*ph
		}
		for _, t := range logTicks(xlo, xhi) {
			p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#e9ecef"/>`+"\n", px(t), oy+padT, px(t), float64(oy+padT)+ph)
			p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%s</text>`+"\n", px(t), float64(oy+padT)+ph+14, esc(count(int(t))))
		}
		for _, t := range logTicks(ylo, yhi) {
			p(`<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e9ecef"/>`+"\n", ox+padL, py(t), float64(ox+padL)+pw, py(t))
			p(`<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#555">%s</text>`+"\n", ox+padL-4, py(t), esc(fmtTick(t)))
		}
		p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#555">records</text>`+"\n", float64(ox+padL)+pw/2, oy+panelH-6)
		// Slope-1 reference through the largest point.
		lx, ly := xs[len(xs)-1], ys[len(ys)-1]
		rx0 := max(xlo, lx*ylo/ly)
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#adb5bd" stroke-dasharray="4 3"/>`+"\n", px(rx0), py(ly*rx0/lx), px(lx), py(ly))
		var poly []string
		for k := range xs {
			poly = append(poly, fmt.Sprintf("%.1f,%.1f", px(xs[k]), py(ys[k])))
		}
		p(`<polyline points="%s" fill="none" stroke="#d9480f" stroke-width="2"/>`+"\n", strings.Join(poly, " "))
		for k := range xs {
			p(`<circle cx="%.1f" cy="%.1f" r="3" fill="#d9480f"><title>%s records: %s %s</title></circle>`+"\n", px(xs[k]), py(ys[k]), count(int(xs[k])), fmtNum(ys[k]), esc(pn.unit))
		}
	}
	p("</svg>\n")
	return b.String()
}

// fmtTick formats a power of ten.
func fmtTick(v float64) string {
	if v >= 1000 {
		return fmtNum(v)
	}
	return fmt.Sprintf("%g", v)
}
