package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// isTerminal reports whether w is a terminal: a character device other
// than /dev/null. (golang.org/x/term is not among the module's
// dependencies; a character device is what a terminal is, to Stat.) A
// variable, so that tests can pretend.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}

// showProgress reports whether a command should draw progress: its
// standard output is a terminal (someone is watching) and it is not
// asked for JSON (something is parsing). Otherwise output stays quiet
// and line-oriented.
func showProgress(stdout io.Writer, asJSON bool) bool {
	return !asJSON && isTerminal(stdout)
}

// progressInterval is how often the progress line is redrawn (a
// variable for tests).
var progressInterval = 200 * time.Millisecond

// progress draws one status line, rewritten in place, on a terminal:
// what is done out of the total, the rate and the time left at that
// rate. A nil *progress draws nothing, so that callers need not check.
type progress struct {
	w     io.Writer
	label string
	total int64
	count func() int64 // how much is done; called from the drawing goroutine
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
}

// startProgress starts drawing to w when on, every progressInterval,
// until Stop.
func startProgress(w io.Writer, on bool, label string, total int64, count func() int64) *progress {
	if !on || total <= 0 {
		return nil
	}
	p := &progress{w: w, label: label, total: total, count: count, start: time.Now(), stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case now := <-t.C:
				fmt.Fprintf(p.w, "\r%s\x1b[K", p.line(p.count(), now.Sub(p.start)))
			}
		}
	}()
	return p
}

// Stop stops drawing and erases the line.
func (p *progress) Stop() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	fmt.Fprint(p.w, "\r\x1b[K")
}

// line is the status after elapsed with done of the total done:
// "replay  120/411  29%  45/s  ETA 6s".
func (p *progress) line(done int64, elapsed time.Duration) string {
	pct := float64(done) * 100 / float64(p.total)
	s := fmt.Sprintf("%s  %d/%d  %.0f%%", p.label, done, p.total, pct)
	if done <= 0 || elapsed <= 0 {
		return s + "  ETA -"
	}
	rate := float64(done) / elapsed.Seconds()
	left := time.Duration(float64(p.total-done) / rate * float64(time.Second))
	return fmt.Sprintf("%s  %s/s  ETA %s", s, humanRate(rate), left.Round(time.Second))
}

// humanRate renders a rate with a k or M suffix past a thousand.
func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
