package gossip

// notifier runs fn on its own goroutine after pokes, one call at a time.
// Pokes that arrive while fn runs or waits are coalesced into one more
// call, so poke never blocks (memberlist pokes while holding its node lock)
// and fn never runs under a lock.
type notifier struct {
	fn    func()
	poked chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

func startNotifier(fn func()) *notifier {
	n := &notifier{fn: fn, poked: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if fn == nil {
		close(n.done)
		return n
	}
	go n.run()
	return n
}

func (n *notifier) poke() {
	select {
	case n.poked <- struct{}{}:
	default:
	}
}

func (n *notifier) run() {
	defer close(n.done)
	for {
		select {
		case <-n.stop:
			return
		case <-n.poked:
			n.fn()
		}
	}
}

// close stops the goroutine and waits for a call in progress. Call once.
func (n *notifier) close() {
	close(n.stop)
	<-n.done
}
