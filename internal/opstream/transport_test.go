package opstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func envelope(payload []byte) []byte {
	e := make([]byte, 5+len(payload))
	binary.BigEndian.PutUint32(e[1:5], uint32(len(payload)))
	copy(e[5:], payload)
	return e
}

// writeSplit writes each envelope as Connect does: prefix, then payload.
func writeSplit(w *io.PipeWriter, envs [][]byte, end error) {
	for _, e := range envs {
		if _, err := w.Write(e[:5]); err != nil {
			return
		}
		if _, err := w.Write(e[5:]); err != nil {
			return
		}
	}
	w.CloseWithError(end)
}

// Each Read with room for it returns exactly one whole envelope, and the
// bytes are those written, whatever the sizes.
func TestEnvelopeBodyReadsWholeEnvelopes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		payloads := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 3000), 0, 20).Draw(t, "payloads")
		var envs [][]byte
		for _, p := range payloads {
			envs = append(envs, envelope(p))
		}
		r, w := io.Pipe()
		go writeSplit(w, envs, nil)
		body := &envelopeBody{r: r}
		buf := make([]byte, 1<<16)
		for i, e := range envs {
			n, err := body.Read(buf)
			if err != nil || !bytes.Equal(buf[:n], e) {
				t.Fatalf("read %d: %d bytes, %v; want the whole %d-byte envelope", i, n, err, len(e))
			}
		}
		if n, err := body.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("after the last envelope: %d, %v; want EOF", n, err)
		}
	})
}

// A small read buffer gets an envelope in pieces, in order.
func TestEnvelopeBodyServesAnEnvelopeInPieces(t *testing.T) {
	e := envelope(bytes.Repeat([]byte("x"), 1000))
	r, w := io.Pipe()
	go writeSplit(w, [][]byte{e}, nil)
	got, err := io.ReadAll(io.LimitReader(&envelopeBody{r: r}, 1<<20))
	if err != nil || !bytes.Equal(got, e) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
}

// A body cut inside an envelope passes on what came and then says so.
func TestEnvelopeBodyReportsATruncatedEnvelope(t *testing.T) {
	for _, cut := range []int{3, 5, 50} {
		e := envelope(bytes.Repeat([]byte("y"), 100))
		r, w := io.Pipe()
		go func() {
			w.Write(e[:cut])
			w.Close()
		}()
		got, err := io.ReadAll(&envelopeBody{r: r})
		if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(got, e[:cut]) {
			t.Errorf("cut at %d: read %d bytes, %v; want the %d bytes and ErrUnexpectedEOF", cut, len(got), err, cut)
		}
	}
	// And a writer's error comes through as it is.
	boom := errors.New("boom")
	r, w := io.Pipe()
	go writeSplit(w, [][]byte{envelope([]byte("z"))}, boom)
	if _, err := io.ReadAll(&envelopeBody{r: r}); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the writer's", err)
	}
}

// Only Connect streams are rewrapped.
func TestTransportWrapsOnlyConnectStreams(t *testing.T) {
	var seen []bool
	rt := Transport(roundTripFunc(func(req *http.Request) (*http.Response, error) {
		_, wrapped := req.Body.(*envelopeBody)
		seen = append(seen, wrapped)
		return nil, errors.New("not sent")
	}))
	for _, ct := range []string{"application/connect+proto", "application/proto", "application/json"} {
		req, _ := http.NewRequest("POST", "http://x/", bytes.NewReader(nil))
		req.Header.Set("Content-Type", ct)
		rt.RoundTrip(req)
	}
	if want := []bool{true, false, false}; !slices.Equal(seen, want) {
		t.Fatalf("wrapped %v, want %v", seen, want)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
