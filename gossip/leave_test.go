package gossip

import (
	"bytes"
	"errors"
	"net"
	"testing"

	"github.com/hashicorp/memberlist"
)

func node(id string, m meta) *memberlist.Node {
	m.ID = id
	return &memberlist.Node{Name: id, Addr: net.IPv4(127, 0, 0, 1), Port: 7946, Meta: m.encode()}
}

func TestLeaveFlagTurnsLeaveIntoLeft(t *testing.T) {
	tab := newTable(Member{ID: "a"}, 1, nil)
	tab.observe(node("b", meta{Boot: 5}), true)
	tab.observe(node("c", meta{Boot: 6}), true)
	tab.observe(node("b", meta{Boot: 5, Leaving: true}), true) // Leave's update
	tab.observe(node("b", meta{Boot: 5, Leaving: true}), false)
	tab.observe(node("c", meta{Boot: 6}), false)
	if got := tab.get("b").State; got != StateLeft {
		t.Errorf("b announced leaving, then went: %s, want left", got)
	}
	if got := tab.get("c").State; got != StateDead {
		t.Errorf("c went without announcing: %s, want dead", got)
	}
}

func TestDeparturesCorrectAMissedLeave(t *testing.T) {
	tab := newTable(Member{ID: "a"}, 1, []Member{{ID: "k", State: StateDead}})
	tab.observe(node("b", meta{Boot: 5}), true)
	tab.observe(node("b", meta{Boot: 5}), false) // leave seen before the leaving flag
	tab.observe(node("c", meta{Boot: 6}), true)

	for _, tc := range []struct {
		id    string
		boot  uint64
		moved bool
		want  State
	}{
		{"b", 4, false, StateDead}, // an earlier life of b left: not this one
		{"b", 5, true, StateLeft},
		{"c", 6, false, StateAlive}, // still live: left only once memberlist says it is gone
		{"k", 9, true, StateLeft},   // remembered from a previous run, never heard from
		{"x", 1, false, ""},         // unknown: left before this node heard of it
	} {
		if moved := tab.markLeft(tc.id, tc.boot); moved != tc.moved {
			t.Errorf("markLeft(%s, %d) = %v, want %v", tc.id, tc.boot, moved, tc.moved)
		}
		if got, ok := tab.records[tc.id]; ok && got.State != tc.want {
			t.Errorf("%s after markLeft(%d): %s, want %s", tc.id, tc.boot, got.State, tc.want)
		}
	}
	tab.observe(node("c", meta{Boot: 6}), false)
	if got := tab.get("c").State; got != StateLeft {
		t.Errorf("c gone after its departure was passed on: %s, want left", got)
	}
	tab.observe(node("c", meta{Boot: 7}), true) // restarted
	tab.observe(node("c", meta{Boot: 7}), false)
	if got := tab.get("c").State; got != StateDead {
		t.Errorf("c's next life failed: %s, want dead", got)
	}
}

func TestDeparturesTravelInPushPull(t *testing.T) {
	from := &Gossip{table: newTable(Member{ID: "a"}, 1, nil), notify: startNotifier(nil)}
	to := &Gossip{table: newTable(Member{ID: "c"}, 2, nil), notify: startNotifier(nil)}
	for _, g := range []*Gossip{from, to} {
		g.table.observe(node("b", meta{Boot: 5}), true)
		g.table.observe(node("b", meta{Boot: 5, Leaving: from == g}), false)
	}
	delegate{to}.MergeRemoteState(delegate{from}.LocalState(false), false)
	if got := to.table.get("b").State; got != StateLeft {
		t.Fatalf("b after push/pull: %s, want left", got)
	}
}

func TestDeparturesRoundTrip(t *testing.T) {
	ds := []departure{{"a", 1}, {"", 0}, {"node-with-long-name", ^uint64(0)}}
	got, err := decodeDepartures(encodeDepartures(ds))
	if err != nil || len(got) != len(ds) {
		t.Fatalf("decode(encode) = %v, %v", got, err)
	}
	for i := range ds {
		if got[i] != ds[i] {
			t.Errorf("entry %d: %v, want %v", i, got[i], ds[i])
		}
	}
	for _, bad := range [][]byte{nil, {2, 0}, {departuresVersion, 0xff, 0xff, 0xff, 0xff, 0x0f}, {departuresVersion, 1, 1, 'a'}} {
		if _, err := decodeDepartures(bad); !errors.Is(err, errMalformed) {
			t.Errorf("decode(%v): %v, want errMalformed", bad, err)
		}
	}
}

func FuzzDecodeDepartures(f *testing.F) {
	f.Add(encodeDepartures([]departure{{"a", 1}, {"b", 2}}))
	f.Add(append(encodeDepartures([]departure{{"a", 1}}), 3, 'r', 'k', 'm')) // with a ring state
	f.Add([]byte{departuresVersion, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := decodeDepartures(b)
		if err != nil {
			return
		}
		again, err := decodeDepartures(encodeDepartures(ds))
		if err != nil || len(again) != len(ds) {
			t.Fatalf("re-encoding %v gives %v, %v", ds, again, err)
		}
	})
}

// The agreed ring's encoding rides every push/pull after the departures,
// as the backstop of the digest in the meta; departures still decode
// beside it, and a node that sends none sends what older nodes sent.
func TestRingStateTravelsInPushPull(t *testing.T) {
	var got []byte
	from := &Gossip{table: newTable(Member{ID: "a"}, 1, nil), notify: startNotifier(nil),
		ringState: func() []byte { return []byte("ring-of-a") }}
	to := &Gossip{table: newTable(Member{ID: "c"}, 2, nil), notify: startNotifier(nil),
		onRing: func(b []byte) { got = b }}
	for _, g := range []*Gossip{from, to} {
		g.table.observe(node("b", meta{Boot: 5}), true)
		g.table.observe(node("b", meta{Boot: 5, Leaving: from == g}), false)
	}
	delegate{to}.MergeRemoteState(delegate{from}.LocalState(false), false)
	if string(got) != "ring-of-a" || to.table.get("b").State != StateLeft {
		t.Fatalf("after push/pull: ring %q, b %s; want ring-of-a and b left", got, to.table.get("b").State)
	}
	from.ringState = nil
	if b := (delegate{from}).LocalState(false); !bytes.Equal(b, encodeDepartures(from.table.leaves())) {
		t.Fatalf("without a ring, push/pull state %x, want the departures alone", b)
	}
}
