package main

import (
	"fmt"
	"strings"
	"time"
)

// occupancyBins is how many slices of a run the window's fill is shown in.
const occupancyBins = 10

// span is one workflow's life: from its start to its close.
type span struct{ start, close time.Time }

// occupancy cuts the time from the first start to the last close into bins and returns, for each,
// how many of the workflows were open on average: a window kept full reads as the window all along.
func occupancy(spans []span, bins int) []float64 {
	if len(spans) == 0 || bins < 1 {
		return nil
	}
	first, last := spans[0].start, spans[0].close
	for _, s := range spans {
		if s.start.Before(first) {
			first = s.start
		}
		if s.close.After(last) {
			last = s.close
		}
	}
	width := last.Sub(first) / time.Duration(bins)
	if width <= 0 {
		return nil
	}
	open := make([]float64, bins)
	for _, s := range spans {
		for i := range bins {
			from := first.Add(time.Duration(i) * width)
			to := from.Add(width)
			if overlap := earlier(to, s.close).Sub(later(from, s.start)); overlap > 0 {
				open[i] += float64(overlap) / float64(width)
			}
		}
	}
	return open
}

// formatOccupancy prints the bins as whole devices.
func formatOccupancy(open []float64) string {
	parts := make([]string, len(open))
	for i, v := range open {
		parts[i] = fmt.Sprintf("%.0f", v)
	}
	return strings.Join(parts, " ")
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
