//go:build race

package core

// raceEnabled reports whether the race detector is on: it makes values
// escape that otherwise would not, so allocation counts are not checked.
const raceEnabled = true
