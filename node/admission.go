package node

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
)

// admission bounds the requests a node works on at once. A request past the
// bound is refused at once with ResourceExhausted rather than queued: the
// client can back off or try another node, and the requests already
// admitted keep their latency.
type admission struct {
	slots chan struct{}
}

func newAdmission(limit int) *admission {
	return &admission{slots: make(chan struct{}, limit)}
}

// interceptor admits each unary call or refuses it.
func (a *admission) interceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if err := a.enter(); err != nil {
				return nil, err
			}
			defer a.leave()
			return next(ctx, req)
		}
	}
}

// enter admits one request, which must leave when done, or refuses it.
func (a *admission) enter() error {
	select {
	case a.slots <- struct{}{}:
		return nil
	default:
		return connect.NewError(connect.CodeResourceExhausted,
			fmt.Errorf("node is overloaded: %d requests in flight (--max-requests); retry with backoff or use another node", cap(a.slots)))
	}
}

func (a *admission) leave() { <-a.slots }
