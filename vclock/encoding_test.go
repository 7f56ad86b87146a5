package vclock_test

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ringkv/ringkv/vclock"
)

// raw builds encodings by hand, so malformed ones read like the format.
// Every method returns a new slice, so one prefix can start many encodings.
type raw []byte

func (r raw) own() raw              { return r[:len(r):len(r)] }
func (r raw) b(p ...byte) raw       { return append(r.own(), p...) }
func (r raw) u(x uint64) raw        { return binary.AppendUvarint(r.own(), x) }
func (r raw) actor(a uint64) raw    { return binary.BigEndian.AppendUint64(r.own(), a) }
func (r raw) entry(a, c uint64) raw { return r.actor(a).u(c) }
func (r raw) sib(a, c uint64, flags byte, v string) raw {
	return r.entry(a, c).b(flags).u(uint64(len(v))).b([]byte(v)...)
}

// header is version 1 and the clock {a:2, b:1}.
var header = raw{1}.u(2).entry(0xa, 2).entry(0xb, 1)

func TestEncodingFormat(t *testing.T) {
	s := put(vclock.Set{}, none, A, "hi")
	s = del(s, none, B)
	s = put(s, none, A, "")
	want := "01" + "02" + "000000000000000a02" + "000000000000000b01" + // clock
		"03" + // siblings
		"000000000000000a01" + "00" + "02" + "6869" + // a:1 "hi"
		"000000000000000a02" + "00" + "00" + // a:2 ""
		"000000000000000b01" + "01" + "00" // b:1 tombstone
	if got := hex.EncodeToString(s.Encode()); got != want {
		t.Fatalf("Encode(%v) =\n%s, want\n%s", s, got, want)
	}
	if got := s.AppendEncode([]byte{0xff}); hex.EncodeToString(got) != "ff"+want {
		t.Fatalf("AppendEncode did not append: %x", got)
	}
}

func TestTheEmptyContextEncodesToAShortNonEmptyString(t *testing.T) {
	if got := (vclock.VV{}).Encode(); string(got) != "\x01\x00" {
		t.Fatalf("empty VV encodes to %x, want 0100", got)
	}
	if got := (vclock.Set{}).Encode(); string(got) != "\x01\x00\x00" {
		t.Fatalf("empty Set encodes to %x, want 010000", got)
	}
}

func TestDecodeAcceptsTheHandBuiltExample(t *testing.T) {
	s, err := vclock.Decode(header.u(2).sib(0xa, 2, 0, "x").sib(0xb, 1, 1, ""))
	if err != nil || len(s.Siblings) != 2 || !s.Siblings[1].Tombstone || string(s.Siblings[0].Value) != "x" {
		t.Fatalf("Decode = %v, %v", s, err)
	}
}

// rejection is a malformed input and the words its error must contain, so a
// case cannot pass by failing for some other reason.
type rejection struct {
	in  []byte
	why string
}

func TestDecodeRejectsMalformedInput(t *testing.T) {
	valid := header.u(1).sib(0xa, 2, 0, "x")
	for name, c := range map[string]rejection{
		"empty input":                  {raw{}, "truncated"},
		"unknown version":              {raw{2}.u(0).u(0), "unknown version 2"},
		"truncated clock":              {valid[:5], "cannot fit"},
		"truncated value":              {valid[:len(valid)-1], "truncated"},
		"trailing bytes":               {valid.b(0), "trailing"},
		"missing sibling count":        {header, "truncated varint"},
		"clock actors out of order":    {raw{1}.u(2).entry(0xb, 1).entry(0xa, 2).u(0), "out of order"},
		"clock actor repeated":         {raw{1}.u(2).entry(0xa, 1).entry(0xa, 2).u(0), "repeated"},
		"zero actor in clock":          {raw{1}.u(1).entry(0, 1).u(0), "zero actor"},
		"zero counter in clock":        {raw{1}.u(1).entry(0xa, 0).u(0), "zero actor or counter"},
		"siblings out of order":        {header.u(2).sib(0xb, 1, 0, "").sib(0xa, 1, 0, ""), "out of order"},
		"sibling dot repeated":         {header.u(2).sib(0xa, 1, 0, "").sib(0xa, 1, 0, ""), "repeats a dot"},
		"sibling zero counter":         {header.u(1).sib(0xa, 0, 0, ""), "zero actor or counter"},
		"sibling zero actor":           {header.u(1).sib(0, 1, 0, ""), "zero actor"},
		"sibling not covered":          {header.u(1).sib(0xa, 3, 0, ""), "not covered"},
		"sibling actor not in clock":   {header.u(1).sib(0xc, 1, 0, ""), "not covered"},
		"unknown flag bits":            {header.u(1).sib(0xa, 1, 2, ""), "flags"},
		"tombstone with a value":       {header.u(1).sib(0xa, 1, 1, "x"), "tombstone with a value"},
		"non-minimal varint":           {raw{1}.b(0x81, 0x00).entry(0xa, 1).u(0), "non-minimal"},
		"varint overflow":              {raw{1}.b(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02), "overflow"},
		"clock count beyond input":     {raw{1}.u(math.MaxUint64), "cannot fit"},
		"sibling count beyond input":   {header.u(1 << 40), "cannot fit"},
		"value length beyond input":    {header.u(1).entry(0xa, 1).b(0).u(math.MaxUint64), "truncated"},
		"value length just past input": {header.u(1).entry(0xa, 1).b(0).u(2).b('x'), "truncated"},
	} {
		s, err := vclock.Decode(c.in)
		if !errors.Is(err, vclock.ErrMalformed) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: Decode(%x) = %v, %v; want ErrMalformed saying %q", name, c.in, s, err, c.why)
		}
	}
}

func TestDecodeVVRejectsMalformedInput(t *testing.T) {
	for name, c := range map[string]rejection{
		"empty input":         {raw{}, "truncated"},
		"unknown version":     {raw{0}.u(0), "unknown version 0"},
		"truncated entry":     {raw{1}.u(1).actor(0xa), "cannot fit"},
		"trailing bytes":      {raw{1}.u(0).b(0), "trailing"},
		"zero actor":          {raw{1}.u(1).entry(0, 1), "zero actor"},
		"zero counter":        {raw{1}.u(1).entry(0xa, 0), "zero actor or counter"},
		"actors out of order": {raw{1}.u(2).entry(0xb, 1).entry(0xa, 1), "out of order"},
		"count beyond input":  {raw{1}.u(1 << 50), "cannot fit"},
	} {
		v, err := vclock.DecodeVV(c.in)
		if !errors.Is(err, vclock.ErrMalformed) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: DecodeVV(%x) = %v, %v; want ErrMalformed saying %q", name, c.in, v, err, c.why)
		}
	}
}

func TestDecodedValuesDoNotAliasTheInput(t *testing.T) {
	b := header.u(2).sib(0xa, 1, 0, "one").sib(0xa, 2, 0, "two")
	s, err := vclock.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	requireValues(t, s, "one", "two")
	// Appending to one value must not overwrite its neighbour in the shared buffer.
	_ = append(s.Siblings[0].Value, "!!!"...)
	requireValues(t, s, "one", "two")
}

func TestAnEmptyValueDecodesAsNil(t *testing.T) {
	s, err := vclock.Decode(put(vclock.Set{}, none, A, "").Encode())
	if err != nil || !s.Found() || s.Siblings[0].Value != nil {
		t.Fatalf("Decode = %v, %v", s, err)
	}
}
