package console

import (
	"fmt"
	"strconv"
	"strings"
)

// chart is an SVG chart laid out on the server: the template draws these shapes as
// they are. Colours come from the stylesheet by class, so the CSP needs no inline style.
type chart struct {
	ID, Title, Desc string
	W, H            int
	Bars            []bar
	Line            string // polyline points
	Zero            float64
	XLabels         []label
	YLabels         []label
	Legend          []legend
}

type bar struct {
	X, Y, W, H float64
	Class, Tip string
}

type label struct {
	X, Y float64
	Text string
}

type legend struct{ Class, Text string }

const (
	chartW, chartH         = 760, 260
	padL, padR, padT, padB = 60, 10, 10, 30
)

// series is one stack of a stacked bar chart.
type series struct {
	Name   string
	Values []int64 // one per x
}

// stacked lays out a stacked bar chart of xs (day labels) and series.
func stacked(id, title, desc string, xs []string, ss []series) chart {
	c := chart{ID: id, Title: title, Desc: desc, W: chartW, H: chartH}
	var top int64 = 1
	for i := range xs {
		var sum int64
		for _, s := range ss {
			sum += s.Values[i]
		}
		top = max(top, sum)
	}
	top = nice(top)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	step := plotW / float64(max(len(xs), 1))
	for i, x := range xs {
		base := float64(chartH - padB)
		for j, s := range ss {
			v := s.Values[i]
			if v <= 0 {
				continue
			}
			h := float64(v) / float64(top) * plotH
			base -= h
			c.Bars = append(c.Bars, bar{X: float64(padL) + float64(i)*step + step*0.1, Y: base, W: step * 0.8, H: h,
				Class: class(j), Tip: fmt.Sprintf("%s, %s: %d tokens", x, s.Name, v)})
		}
	}
	c.XLabels = xLabels(xs, step)
	c.YLabels = yLabels(0, top, plotH)
	for j, s := range ss {
		c.Legend = append(c.Legend, legend{Class: class(j), Text: s.Name})
	}
	return c
}

// line lays out a line chart of one value per x; values may be negative (debt).
func line(id, title, desc string, xs []string, vs []int64) chart {
	c := chart{ID: id, Title: title, Desc: desc, W: chartW, H: chartH}
	var lo, hi int64 = 0, 1
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	hi = nice(hi)
	if lo < 0 {
		lo = -nice(-lo)
	}
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	step := plotW / float64(max(len(xs)-1, 1))
	y := func(v int64) float64 { return float64(padT) + (float64(hi-v))/float64(hi-lo)*plotH }
	var pts []string
	for i, v := range vs {
		pts = append(pts, strconv.FormatFloat(float64(padL)+float64(i)*step, 'f', 1, 64)+","+strconv.FormatFloat(y(v), 'f', 1, 64))
	}
	c.Line = strings.Join(pts, " ")
	c.Zero = y(0)
	c.XLabels = xLabels(xs, step)
	if len(xs) == 1 {
		c.XLabels[0].X = padL
	}
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*int64(i)/4
		c.YLabels = append(c.YLabels, label{X: padL - 6, Y: y(v) + 4, Text: num(v)})
	}
	return c
}

func class(j int) string { return "s" + strconv.Itoa(j%8) }

// xLabels labels about eight of the xs, evenly.
func xLabels(xs []string, step float64) []label {
	var out []label
	every := max(len(xs)/8, 1)
	for i := 0; i < len(xs); i += every {
		out = append(out, label{X: float64(padL) + float64(i)*step + step/2, Y: chartH - 10, Text: strings.TrimPrefix(xs[i][min(5, len(xs[i])):], "")})
	}
	return out
}

func yLabels(lo, hi int64, plotH float64) []label {
	var out []label
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*int64(i)/4
		out = append(out, label{X: padL - 6, Y: float64(chartH-padB) - float64(i)/4*plotH + 4, Text: num(v)})
	}
	return out
}

// nice rounds n up to 1, 2 or 5 times a power of ten, for a readable axis.
func nice(n int64) int64 {
	p := int64(1)
	for p*10 <= n {
		p *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= n {
			return m * p
		}
	}
	return 10 * p
}
