package bench

import (
	"fmt"
	"time"
)

// startLive writes the progress line to Options.Live once a second (wall
// clock) until the returned stop is called, which clears the line.
func (r *runner) startLive(name string, rec *recorder) (stop func()) {
	if r.o.Live == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(r.o.Live, "\r\x1b[K")
				return
			case <-t.C:
				fmt.Fprint(r.o.Live, "\r"+liveLine(name, rec.live(r.o.Clock.Now()))+"\x1b[K")
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// liveLine is e.g. "run  12s  4213 ops/s  errors 0  p99 3.1ms".
func liveLine(name string, l live) string {
	return fmt.Sprintf("%s %5s  %8s ops/s  errors %d  p99 %s", name, l.elapsed.Truncate(time.Second),
		formatFloat(l.lastRate), l.errs, formatLatency(l.p99))
}
