package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ringkv/ringkv/bench"
	"github.com/ringkv/ringkv/internal/clustertest"
)

func clusterDriver(t *testing.T, c *clustertest.Cluster, opts bench.RingkvOptions) *bench.Ringkv {
	t.Helper()
	d, err := bench.NewRingkv([]string{c.Addr("n1"), c.Addr("n2"), c.Addr("n3")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// A short closed-loop run of workloads A and F against a real 3-node
// cluster, requests spread over all three nodes: no errors, and every
// read finds its record.
func TestRingkvDriverRunsWorkloadsAAndF(t *testing.T) {
	c := clustertest.New(t, 3)
	d := clusterDriver(t, c, bench.RingkvOptions{})
	for _, name := range []string{"a", "f"} {
		res, err := bench.Run(context.Background(), d, bench.Options{Workload: mustPreset(t, name),
			Records: 300, Duration: 2 * time.Second, Clients: 4, SkipLoad: name == "f", Target: d.Describe()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Load != nil && (res.Load.Total.Count != 300 || res.Load.Total.Errors != 0) {
			t.Fatalf("load: %d inserted, %d errors", res.Load.Total.Count, res.Load.Total.Errors)
		}
		tot := res.Run.Total
		if tot.Count == 0 || tot.Errors != 0 || tot.NotFound != 0 {
			t.Fatalf("workload %s: %d ok, %d errors %+v, %d not found", name, tot.Count, tot.Errors, res.Run.Errors, tot.NotFound)
		}
		t.Logf("workload %s: %.0f ops/s, p99 %s", name, tot.OpsPerSec, tot.P99)
	}
}

// Blind updates keep what the key holds as siblings; read-first updates
// overwrite it.
func TestRingkvUpdateModes(t *testing.T) {
	c := clustertest.New(t, 3)
	ctx := context.Background()
	for mode, want := range map[bench.UpdateMode]int{bench.Blind: 4, bench.ReadFirst: 1} {
		d := clusterDriver(t, c, bench.RingkvOptions{W: 3, R: 3, Updates: mode})
		key := []byte("k-" + string(mode))
		for i := range 4 {
			if err := d.Put(ctx, key, []byte(fmt.Sprint(i)), nil); err != nil {
				t.Fatal(err)
			}
		}
		got, err := c.Client("n1").Get(ctx, key, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Values) != want {
			t.Errorf("%s updates: %d values after 4 writes, want %d", mode, len(got.Values), want)
		}
	}
}
