package gossip

import (
	"errors"
	"testing"

	"github.com/hashicorp/memberlist"
)

func TestGuardAdmitsOnlyEqualSettings(t *testing.T) {
	g := &guard{self: "a", local: Settings{N: 3, Partitions: 64}}
	same := meta{Settings: g.local}
	other := meta{Settings: Settings{N: 5, Partitions: 64}}
	if err := g.NotifyAlive(node("b", same)); err != nil {
		t.Errorf("same settings: %v", err)
	}
	if err := g.NotifyAlive(node("b", other)); !errors.Is(err, ErrSettingsMismatch) {
		t.Errorf("other settings: %v, want ErrSettingsMismatch", err)
	}
	if err := g.NotifyAlive(&memberlist.Node{Name: "b", Meta: []byte("not ringkv")}); err == nil {
		t.Error("foreign meta admitted")
	}
	impostor := node("b", meta{Settings: g.local})
	impostor.Name = "c"
	if err := g.NotifyAlive(impostor); err == nil {
		t.Error("a node advertising another node's id admitted")
	}
	if err := g.NotifyAlive(node("a", other)); err != nil {
		t.Errorf("a stale record of this node itself is memberlist's to refute: %v", err)
	}
}

func TestGuardRecordsMismatchOnlyDuringOwnJoin(t *testing.T) {
	g := &guard{self: "a", local: Settings{N: 3, Partitions: 64}}
	peers := []*memberlist.Node{
		node("a", meta{Settings: Settings{N: 7, Partitions: 7}}), // an old life of a: skipped
		node("b", meta{Settings: g.local}),
		node("c", meta{Settings: Settings{N: 5, Partitions: 64}}),
	}
	if err := g.NotifyMerge(peers); !errors.Is(err, ErrSettingsMismatch) {
		t.Fatalf("NotifyMerge: %v, want ErrSettingsMismatch", err)
	}
	g.beginJoin()
	if mm := g.endJoin(); mm != nil {
		t.Fatalf("mismatch outside a join was recorded: %v", mm)
	}
	g.beginJoin()
	g.NotifyMerge(peers)
	mm := g.endJoin()
	want := SettingsMismatchError{Peer: "c", Cluster: Settings{N: 5, Partitions: 64}, Local: g.local}
	if mm == nil || *mm != want {
		t.Fatalf("recorded %+v, want %+v", mm, want)
	}
}
