package node

import (
	"context"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
)

func TestAdmissionShedsRequestsPastTheLimit(t *testing.T) {
	a := newAdmission(2)
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	blocking := a.interceptor()(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
		entered <- struct{}{}
		<-release
		return nil, nil
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := blocking(context.Background(), nil); err != nil {
				t.Errorf("admitted request failed: %v", err)
			}
		})
	}
	<-entered
	<-entered
	quick := a.interceptor()(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) { return nil, nil })
	_, err := quick(context.Background(), nil)
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "--max-requests") {
		t.Fatalf("third request: %v, want ResourceExhausted naming --max-requests", err)
	}
	close(release)
	wg.Wait()
	if _, err := quick(context.Background(), nil); err != nil {
		t.Fatalf("after the others finished: %v", err)
	}
}
