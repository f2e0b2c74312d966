package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal, where progress is shown.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress shows on stderr what a long operation is doing: a bar of bytes
// when the total is known, a spinner otherwise. Nothing is shown unless
// stderr is a terminal, nor before progressDelay has passed, so that quick
// operations on small logs print nothing. All methods are safe on a nil
// *progress and from several goroutines; stop must be called once at the end.
type progress struct {
	w        io.Writer
	start    time.Time
	quit     chan struct{}
	ended    chan struct{}
	stopOnce sync.Once

	mu     sync.Mutex
	active bool   // a phase is running
	desc   string // of the phase
	total  int64  // bytes of the phase, -1 if unknown
	done   int64  // bytes done in the phase
	bar    *progressbar.ProgressBar
}

// progressDelay is how long an operation runs before progress shows.
// Tests set it to 0.
var progressDelay = 300 * time.Millisecond

// newProgress starts showing desc; total is in bytes, or -1 if unknown.
// It returns nil (which shows nothing) when stderr is not a terminal.
func (c *cli) newProgress(desc string, total int64) *progress {
	if !c.progress {
		return nil
	}
	p := &progress{w: c.stderr, start: time.Now(), quit: make(chan struct{}), ended: make(chan struct{}),
		active: true, desc: desc, total: total}
	go func() {
		defer close(p.ended)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.mu.Lock()
				p.show()
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// add counts n more bytes done.
func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.bar != nil {
		p.bar.Add64(n)
	}
}

// phase ends the current phase and starts showing desc, with a new total.
func (p *progress) phase(desc string, total int64) {
	if p == nil || p.stopped() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	p.active, p.desc, p.total, p.done = true, desc, total, 0
	p.show()
}

// idle ends the current phase and shows nothing until the next one.
func (p *progress) idle() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

// stop clears what is shown and ends the progress. Later calls do nothing.
func (p *progress) stop() {
	if p == nil {
		return
	}
	p.stopOnce.Do(func() {
		close(p.quit)
		<-p.ended
		p.mu.Lock()
		defer p.mu.Unlock()
		p.clearLocked()
	})
}

// stopped reports whether stop has been called.
func (p *progress) stopped() bool {
	select {
	case <-p.quit:
		return true
	default:
		return false
	}
}

func (p *progress) clearLocked() {
	p.active = false
	if p.bar != nil {
		p.bar.Finish() // clears the line (OptionClearOnFinish)
		p.bar = nil
	}
}

// show makes the bar of the running phase once progressDelay has passed
// since the start.
func (p *progress) show() {
	if !p.active || p.bar != nil || time.Since(p.start) < progressDelay {
		return
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.desc),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetElapsedTime(true),
	}
	if p.total > 0 {
		opts = append(opts, progressbar.OptionShowBytes(true), progressbar.OptionSetPredictTime(true))
	} else {
		opts = append(opts, progressbar.OptionSpinnerType(14))
		p.total = -1
	}
	p.bar = progressbar.NewOptions64(p.total, opts...)
	if p.done > 0 && p.total > 0 {
		p.bar.Add64(min(p.done, p.total))
	} else {
		p.bar.RenderBlank()
	}
}
