package verify

import (
	"context"
	"slices"
	"time"

	"github.com/ringkv/ringkv/client"
)

// finalTries is how often a final read is tried through one node before
// the key is left unread.
const finalTries = 3

// finalReads reads every key with R=rf through every node and unions what
// they saw; the replicas of a key are those that replied. snap is the
// local copies read before, against which the replicas are compared.
func (wl *workload) finalReads(ctx context.Context, keys []string, rf int, snap snapshot) Final {
	f := Final{Values: map[string][]uint64{}, Unread: map[string]bool{}, Differ: map[string]bool{}}
	for _, k := range keys {
		var all []uint64
		var replied []string
		read := false
		for _, n := range wl.nodes {
			elems, who, err := wl.readAll(ctx, n, k, rf)
			if err != nil {
				continue // any one R=N read sees every replica
			}
			read = true
			all = append(all, elems...)
			replied = append(replied, who...)
		}
		f.Unread[k] = !read
		slices.Sort(all)
		slices.Sort(replied)
		f.Values[k] = slices.Compact(all)
		f.Differ[k] = snap.differ(k, slices.Compact(replied))
	}
	return f
}

// readAll reads key at R=rf through n, retrying a failure a few times.
func (wl *workload) readAll(ctx context.Context, n endpoint, key string, rf int) ([]uint64, []string, error) {
	var err error
	for try := range finalTries {
		if try > 0 && !wait(ctx, 200*time.Millisecond) {
			break
		}
		var res client.GetResult
		err = wl.bounded(ctx, func(c context.Context) (err error) {
			res, err = n.cl.Get(c, []byte(key), rf)
			return err
		})
		if err == nil {
			elems, err := unionOf(res.Values)
			return elems, res.Replied, err
		}
	}
	return nil, nil, err
}
