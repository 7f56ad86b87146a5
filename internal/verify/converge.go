package verify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ringkv/ringkv/client"
)

// copyOf is what one node holds of a key locally.
type copyOf struct {
	found bool
	elems []uint64
}

func (c copyOf) equal(o copyOf) bool { return c.found == o.found && slices.Equal(c.elems, o.elems) }

// snapshot is every node's local copy of every key: key -> node id -> copy.
// A node that could not be read is missing.
type snapshot map[string]map[string]copyOf

// checkRate paces the convergence checks.
const checkRate = 500 * time.Millisecond

// converge waits until no hints wait on any node, every node's entropy
// age is below the time since healed, and every key's local copies agree
// on rf nodes; or until deadline. It returns the last snapshot (read
// before any R=N read, which would repair what it compares) and why it
// gave up, if it did.
func (wl *workload) converge(ctx context.Context, healed, deadline time.Time, keys []string, rf int) (snapshot, string) {
	for {
		why := wl.settled(ctx, healed)
		var snap snapshot
		if why == "" {
			snap = wl.snapshot(ctx, keys)
			why = snap.disagreement(rf)
		}
		if why == "" {
			return snap, ""
		}
		if time.Now().Add(checkRate).After(deadline) || !wait(ctx, checkRate) {
			if snap == nil {
				snap = wl.snapshot(ctx, keys)
			}
			return snap, why
		}
	}
}

// settled says what still runs, if anything: hints waiting or a partition
// not exchanged since the heal.
func (wl *workload) settled(ctx context.Context, healed time.Time) string {
	since := time.Since(healed)
	for _, n := range wl.nodes {
		var st statusView
		err := wl.bounded(ctx, func(c context.Context) (err error) {
			st, err = statusOf(c, n.cl)
			return err
		})
		switch {
		case err != nil:
			return fmt.Sprintf("%s does not answer its status: %v", n.id, err)
		case st.hints > 0:
			return fmt.Sprintf("%s holds %d hints", n.id, st.hints)
		case st.entropyAge >= since:
			return fmt.Sprintf("%s has a partition not exchanged since the heal (entropy age %s)", n.id, st.entropyAge.Round(time.Millisecond))
		}
	}
	return ""
}

type statusView struct {
	hints      uint64
	entropyAge time.Duration
	n          int
	activity   Activity
}

// Activity is what the nodes did to heal, summed over the nodes, each
// counted since it last started (a killed node's counts start again).
type Activity struct {
	HintsStored      uint64 `json:"hints_stored"`
	HintsDelivered   uint64 `json:"hints_delivered"`
	HintsDropped     uint64 `json:"hints_dropped"`
	ReadRepairs      uint64 `json:"read_repairs"`
	KeysRepaired     uint64 `json:"ae_keys_repaired"` // pulled and pushed by anti-entropy
	TombstonesReaped uint64 `json:"tombstones_reaped"`
}

func (a *Activity) add(b Activity) {
	a.HintsStored += b.HintsStored
	a.HintsDelivered += b.HintsDelivered
	a.HintsDropped += b.HintsDropped
	a.ReadRepairs += b.ReadRepairs
	a.KeysRepaired += b.KeysRepaired
	a.TombstonesReaped += b.TombstonesReaped
}

// activity sums the nodes' activity; a node that does not answer is left out.
func (wl *workload) activity(ctx context.Context) Activity {
	var sum Activity
	for _, n := range wl.nodes {
		var st statusView
		err := wl.bounded(ctx, func(c context.Context) (err error) {
			st, err = statusOf(c, n.cl)
			return err
		})
		if err == nil {
			sum.add(st.activity)
		}
	}
	return sum
}

func statusOf(ctx context.Context, cl *client.Client) (statusView, error) {
	st, err := cl.Status(ctx)
	if err != nil {
		return statusView{}, err
	}
	ae := st.GetAntiEntropy()
	v := statusView{entropyAge: time.Duration(ae.GetEntropyAgeMs()) * time.Millisecond, n: int(st.GetN()),
		activity: Activity{HintsStored: st.GetHintsStored(), HintsDelivered: st.GetHintsDelivered(), HintsDropped: st.GetHintsDropped(),
			ReadRepairs: st.GetReadRepairs(), KeysRepaired: ae.GetKeysPulled() + ae.GetKeysPushed(), TombstonesReaped: ae.GetTombstonesReaped()}}
	for _, m := range st.GetMembers() {
		v.hints += m.GetHints()
	}
	return v, nil
}

// snapshot reads every key's local copy on every node.
func (wl *workload) snapshot(ctx context.Context, keys []string) snapshot {
	s := snapshot{}
	for _, k := range keys {
		s[k] = map[string]copyOf{}
		for _, n := range wl.nodes {
			if c, err := wl.local(ctx, n, k); err == nil {
				s[k][n.id] = c
			}
		}
	}
	return s
}

func (wl *workload) local(ctx context.Context, n endpoint, key string) (copyOf, error) {
	var res client.GetResult
	err := wl.bounded(ctx, func(c context.Context) (err error) {
		res, err = n.cl.GetLocal(c, []byte(key))
		return err
	})
	if err != nil {
		return copyOf{}, err
	}
	elems, err := unionOf(res.Values)
	return copyOf{found: res.Found, elems: elems}, err
}

// disagreement names a key whose copies are not yet the same: every node
// answered, and the nodes holding it (rf of them, or none) hold the same.
func (s snapshot) disagreement(rf int) string {
	for k, copies := range s {
		var first *copyOf
		holders := 0
		for id, c := range copies {
			if !c.found {
				continue
			}
			holders++
			if first == nil {
				first = &c
			} else if !first.equal(c) {
				return fmt.Sprintf("key %s differs between replicas (%s and others)", k, id)
			}
		}
		if holders != 0 && holders != rf {
			return fmt.Sprintf("key %s is held by %d of its %d replicas", k, holders, rf)
		}
	}
	return ""
}

// differ reports whether the local copies of the replicas that answered
// a key's R=N read are not all the same.
func (s snapshot) differ(key string, replicas []string) bool {
	var first *copyOf
	for _, id := range replicas {
		c := s[key][id] // a replica that could not be read counts as holding nothing
		if first == nil {
			first = &c
		} else if !first.equal(c) {
			return true
		}
	}
	return false
}
