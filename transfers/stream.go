package transfers

import (
	"context"
	"errors"
	"fmt"
)

// stream sends j's partition from the receiver's cursor to the end of the
// stream, a paced batch at a time.
func (m *Manager) stream(ctx context.Context, j *job) error {
	cur, err := m.cursor(ctx, j)
	for err == nil && !cur.Done {
		cur, err = m.step(ctx, j, cur)
	}
	return err
}

// cursor asks the receiver where its copy stands.
func (m *Manager) cursor(ctx context.Context, j *job) (Cursor, error) {
	cctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	cur, err := j.peer.Cursor(cctx, j.id)
	if err != nil {
		return Cursor{}, fmt.Errorf("transfers: ask %s for the cursor of %v: %w", j.id.To, j.id, err)
	}
	j.resumed(cur)
	return cur, nil
}

// step reads, paces and sends the batch after cur, and returns the
// receiver's cursor after it.
func (m *Manager) step(ctx context.Context, j *job, cur Cursor) (Cursor, error) {
	page, err := m.store.TransferPage(j.id.Partition, cur.After, m.cfg.BatchKeys, m.cfg.BatchBytes)
	if err != nil {
		return Cursor{}, fmt.Errorf("transfers: read partition %d: %w", j.id.Partition, err)
	}
	b := Batch{ID: j.id, After: cur.After, Items: page.Items, Next: page.Next, Done: page.Done}
	if err := m.pace(ctx, b.Size()); err != nil {
		return Cursor{}, err
	}
	m.sent.Add(b.Size())
	j.sent(b.Size())
	cctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	next, err := j.peer.Send(cctx, b)
	if gap, ok := errors.AsType[*GapError](err); ok {
		return gap.Cursor, nil // the receiver knows better: go on from its cursor
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("transfers: send %d keys of %v: %w", len(b.Items), j.id, err)
	}
	j.applied(len(b.Items), b.Size(), page.Fraction, m.cfg.Now())
	return next, nil
}

// pace waits until the rate limiter lets n bytes through, in bursts.
func (m *Manager) pace(ctx context.Context, n int64) error {
	for n > 0 {
		step := min(n, int64(m.lim.Burst()))
		if err := m.lim.WaitN(ctx, int(step)); err != nil {
			return err
		}
		n -= step
	}
	return nil
}
