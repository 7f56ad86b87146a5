package node_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/ringkv/ringkv/internal/clustertest"
)

// scrape returns the value of one sample (name with its labels exactly as
// exposed) from a node's /metrics, or -1 when absent.
func scrape(t *testing.T, addr, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMetricsCountRequestsAndReplicaTraffic(t *testing.T) {
	c := clustertest.New(t, 3)
	for range 5 {
		mustPut(t, c.Client("n1"), "k", "v", nil, 3)
	}
	mustGet(t, c.Client("n1"), "k", 3)
	n1, n2 := c.Addr("n1"), c.Addr("n2")
	for sample, least := range map[string]float64{
		`ringkv_requests_total{op="Put",outcome="ok",service="KVService"}`:              5,
		`ringkv_request_duration_seconds_count{op="Get",service="KVService"}`:           1,
		`ringkv_replica_op_duration_seconds_count{kind="write",outcome="ok",peer="n2"}`: 5,
		`ringkv_replica_op_duration_seconds_count{kind="read",outcome="ok",peer="n3"}`:  1,
	} {
		if got := scrape(t, n1, sample); got < least {
			t.Errorf("n1 %s = %v, want at least %v", sample, got, least)
		}
	}
	// The replica that received them counts the stream's operations.
	if got := scrape(t, n2, `ringkv_replica_stream_ops_total{kind="write",outcome="ok"}`); got < 5 {
		t.Errorf("n2 stream writes = %v, want at least 5", got)
	}
	if got := scrape(t, n2, `ringkv_replica_stream_batch_ops_count`); got < 1 {
		t.Errorf("n2 stream batches = %v, want at least 1", got)
	}
	if got := scrape(t, n2, `ringkv_replica_stream_result_ops_sum`); got < 5 {
		t.Errorf("n2 stream results sent = %v, want at least 5", got)
	}
}

// Requests on a pipelined client's stream are counted as their unary
// calls are, and the stream's batches are measured.
func TestMetricsCountPipelinedRequests(t *testing.T) {
	c := clustertest.New(t, 1)
	pc := pipelined(t, c, "n1")
	for range 3 {
		if _, err := pc.Put(ctxT(t), []byte("k"), []byte("v"), nil, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pc.Get(ctxT(t), nil, 1); err == nil {
		t.Fatal("get of an empty key succeeded")
	}
	for sample, want := range map[string]float64{
		`ringkv_requests_total{op="Put",outcome="ok",service="KVService"}`:               3,
		`ringkv_requests_total{op="Get",outcome="invalid_argument",service="KVService"}`: 1,
		`ringkv_request_duration_seconds_count{op="Put",service="KVService"}`:            3,
		`ringkv_kv_stream_batch_ops_sum`:                                                 4,
		`ringkv_kv_stream_result_ops_sum`:                                                4,
	} {
		if got := scrape(t, c.Addr("n1"), sample); got != want {
			t.Errorf("%s = %v, want %v", sample, got, want)
		}
	}
}
