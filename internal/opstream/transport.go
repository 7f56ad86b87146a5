package opstream

import (
	"encoding/binary"
	"io"
	"net/http"
	"strings"
)

// Transport wraps an HTTP/2 client transport so that each message a stream
// sends goes out as one DATA frame and one write to the socket, not two.
//
// Connect writes a streamed message to the request body (a pipe) as its
// 5-byte envelope prefix and then its payload, and net/http's HTTP/2
// client turns every Read of the body into a DATA frame of its own and
// flushes it. Reading each envelope whole before handing it over halves
// the frames, flushes and system calls of every stream on this transport.
// Requests that are not Connect streams pass through untouched.
func Transport(rt http.RoundTripper) http.RoundTripper { return transport{rt} }

type transport struct{ rt http.RoundTripper }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && strings.HasPrefix(req.Header.Get("Content-Type"), "application/connect+") {
		req = req.Clone(req.Context())
		req.Body = &envelopeBody{r: req.Body}
	}
	return t.rt.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// wrapped transport.
func (t transport) CloseIdleConnections() {
	if c, ok := t.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// envelopeBody reads a body of Connect envelopes one whole envelope at a
// time.
type envelopeBody struct {
	r       io.ReadCloser
	store   []byte // the current envelope, reused
	pending []byte // the part of it not yet read
	err     error  // to return once pending is empty
}

func (b *envelopeBody) Read(p []byte) (int, error) {
	if len(b.pending) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		b.fill()
		if len(b.pending) == 0 {
			return 0, b.err
		}
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	if len(b.pending) == 0 && cap(b.store) > maxKeptEnvelope {
		b.store = nil // a rare big message: do not hold its buffer for the stream's life
	}
	return n, nil
}

// maxKeptEnvelope is the largest envelope buffer kept for reuse.
const maxKeptEnvelope = 2 << 20

// fill reads the next envelope: its prefix, then as many bytes as the
// prefix says. A body that ends early is passed on as far as it went,
// then its error; the reader on the other side of the stream reports the
// truncated message.
func (b *envelopeBody) fill() {
	var prefix [5]byte
	n, err := io.ReadFull(b.r, prefix[:])
	if err != nil {
		// io.ReadFull says EOF only when nothing came: a clean end.
		b.pending, b.err = append(b.store[:0], prefix[:n]...), err
		return
	}
	size := int(binary.BigEndian.Uint32(prefix[1:]))
	if cap(b.store) < 5+size {
		b.store = make([]byte, 5+size)
	}
	b.store = b.store[:5+size]
	copy(b.store, prefix[:])
	m, err := io.ReadFull(b.r, b.store[5:])
	b.pending = b.store[:5+m]
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // the prefix came: the message is cut short
	}
	b.err = err
}

func (b *envelopeBody) Close() error { return b.r.Close() }
