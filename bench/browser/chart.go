package main

import (
	"fmt"
	"html"
	"strings"
)

// The chart: one panel per row, horizontal bars of the medians, each panel
// on its own linear scale (the rows have different units), with a thin line
// from min to max of the samples and the value at the end of each bar.

var colors = map[string]string{
	"dbrs":      "#2563eb",
	"idb":       "#6b7280",
	"dexie":     "#ea580c",
	"dbrs-many": "#16a34a",
}

const (
	chartW   = 880
	labelW   = 200 // the library names, right-aligned before the bars
	barX     = labelW + 10
	barMaxW  = 520
	barH     = 16
	barGap   = 5
	titleH   = 22
	goalH    = 14 // the line of targets under a title
	panelGap = 14
)

func (r *Results) svg() string {
	var body strings.Builder
	y := 44
	for _, row := range r.Rows {
		y = r.panel(&body, row, y)
	}
	y = r.wasmPanel(&body, y)

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`+"\n", chartW, y+10, chartW, y+10)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	m := r.Meta
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14" font-weight="bold">dbrs vs raw IndexedDB vs Dexie in %s (%s mode, %s)</text>`+"\n",
		esc(strings.Replace(m.Chromium, "/", " ", 1)), esc(m.Config.Mode), esc(m.Date[:10]))
	fmt.Fprintf(&b, `<text x="10" y="34" fill="#555">%d × %s. Medians; thin lines span min–max. Each panel has its own linear scale.</text>`+"\n",
		m.Machine.CPUs, esc(m.Machine.CPUModel))
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return b.String()
}

func (r *Results) panel(b *strings.Builder, row *Row, y int) int {
	better := "higher is better"
	if !row.Higher {
		better = "lower is better"
	}
	var goals []string
	for _, t := range row.Targets {
		goals = append(goals, fmt.Sprintf("target %s: %s %s", t.Text, ratio(t.Ratio), strings.Trim(passText(t), "*")))
	}
	title := fmt.Sprintf("%s. %s (%s, %s)", row.ID, row.Title, row.Unit, better)
	fmt.Fprintf(b, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+14, esc(title))
	y += titleH
	if len(goals) > 0 {
		fmt.Fprintf(b, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", barX, y+6, esc(strings.Join(goals, "; ")))
		y += goalH
	}
	max := 0.0
	for _, s := range row.Series {
		max = maxf(max, s.Max)
	}
	for _, s := range row.Series {
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW, y+12, esc(s.Label))
		if len(s.Samples) == 0 || max == 0 {
			fmt.Fprintf(b, `<text x="%d" y="%d" fill="#b91c1c">error: %s</text>`+"\n", barX, y+12, esc(first(s.Errors)))
			y += barH + barGap
			continue
		}
		w := s.Median / max * barMaxW
		color := colors[s.Key]
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", barX, y, maxf(w, 1), barH, color)
		x0, x1 := barX+s.Min/max*barMaxW, barX+s.Max/max*barMaxW
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#111" stroke-width="1"/>`+"\n", x0, x1, y+barH/2, y+barH/2)
		fmt.Fprintf(b, `<text x="%.1f" y="%d">%s</text>`+"\n", barX+maxf(w, x1-barX)+6, y+12, esc(num(s.Median)))
		y += barH + barGap
	}
	return y + panelGap
}

func (r *Results) wasmPanel(b *strings.Builder, y int) int {
	w := r.Wasm
	pass := "miss"
	if w.Gzip9 <= wasmTarget {
		pass = "pass"
	}
	fmt.Fprintf(b, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+14, esc(fmt.Sprintf("7. dbrs.wasm size (MB; raw %s)", mb(w.Raw))))
	y += titleH
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", barX, y+6, esc("target ≤ 1.0 MB gzip -9: "+pass))
	y += goalH
	max := maxf(float64(maxi(w.Gzip9, w.Brotli11)), wasmTarget) * 1.1
	top := y
	for _, bar := range []struct {
		label string
		n     int
	}{{"gzip -9", w.Gzip9}, {"brotli -q 11", w.Brotli11}} {
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW, y+12, esc(bar.label))
		bw := float64(bar.n) / max * barMaxW
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", barX, y, bw, barH, colors["dbrs"])
		fmt.Fprintf(b, `<text x="%.1f" y="%d">%s</text>`+"\n", barX+bw+6, y+12, esc(mb(bar.n)))
		y += barH + barGap
	}
	tx := barX + wasmTarget/max*barMaxW
	fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#b91c1c" stroke-dasharray="4 3"/>`+"\n", tx, tx, top-3, y-barGap+3)
	fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#b91c1c" font-size="10" text-anchor="middle">1.0 MB</text>`+"\n", tx, y+9)
	return y + panelGap + 6
}

func esc(s string) string { return html.EscapeString(s) }

func first(s []string) string {
	if len(s) == 0 {
		return "no samples"
	}
	if len(s[0]) > 90 {
		return s[0][:90] + "…"
	}
	return s[0]
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func maxi(a, b int) int {
	if a > b {
		return a
	}
	return b
}
