package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Properties are YCSB workload properties (the format of `-P workloada`
// and `-p key=value`), in the order they were given.
type Properties struct {
	names  []string
	values map[string]string
}

// ReadProperties parses a Java properties file: key=value, key: value or
// "key value" lines, # and ! comments, backslash line continuations.
func ReadProperties(r io.Reader) (Properties, error) {
	var p Properties
	sc := bufio.NewScanner(r)
	pending := ""
	for n := 1; sc.Scan(); n++ {
		line := pending + strings.TrimLeft(sc.Text(), " \t\f")
		pending = ""
		if strings.HasSuffix(line, `\`) && (len(line)-len(strings.TrimRight(line, `\`)))%2 == 1 {
			pending = line[:len(line)-1]
			continue
		}
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=: \t")
		if i < 0 {
			p.Set(line, "")
			continue
		}
		key, rest := line[:i], strings.TrimLeft(line[i:], " \t")
		if rest != "" && (rest[0] == '=' || rest[0] == ':') {
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		p.Set(key, strings.TrimRight(rest, " \t\r"))
	}
	if pending != "" {
		return p, fmt.Errorf("%w: the properties end inside a continued line", ErrInvalid)
	}
	return p, sc.Err()
}

// Set adds or replaces one property (a later -p overrides the file).
func (p *Properties) Set(key, value string) {
	if p.values == nil {
		p.values = map[string]string{}
	}
	if _, ok := p.values[key]; !ok {
		p.names = append(p.names, key)
	}
	p.values[key] = value
}

// Get returns a property's value.
func (p Properties) Get(key string) (string, bool) {
	v, ok := p.values[key]
	return v, ok
}

// Len is the number of properties.
func (p Properties) Len() int { return len(p.names) }

// Properties that mean nothing for one-value-per-key stores: every read
// returns, and every write replaces, the whole value.
var ignoredProperties = map[string]bool{
	"workload": true, "db": true, "table": true, "readallfields": true, "writeallfields": true,
	"fieldnameprefix": true, "measurementtype": true,
}

// Apply sets the options the properties name and returns a warning per
// property it does not know or cannot honour. With ycsbDefaults (a -P
// file), the mix, distribution and value size start from YCSB's
// CoreWorkload defaults (read 0.95, update 0.05, uniform, 10 fields of 100
// bytes), so a file means what it means to YCSB; other settings keep
// their current values unless the file names them.
func (p Properties) Apply(o *Options, ycsbDefaults bool) (warnings []string, err error) {
	if ycsbDefaults {
		name := o.Workload.Name
		o.Workload = ycsbDefault()
		o.Workload.Name = name
	}
	fieldCount, fieldLength := int64(10), int64(100)
	sizeSet := ycsbDefaults
	_, hasOps := p.values["operationcount"]
	_, hasTime := p.values["maxexecutiontime"]
	for _, k := range p.names {
		v := p.values[k]
		var warn string
		switch k {
		case "fieldcount":
			fieldCount, err = parseInt(k, v, 1)
			sizeSet = true
		case "fieldlength":
			fieldLength, err = parseInt(k, v, 0)
			sizeSet = true
		default:
			warn, err = p.applyOne(o, k, v)
		}
		if err != nil {
			return warnings, err
		}
		if warn != "" {
			warnings = append(warnings, warn)
		}
	}
	if sizeSet {
		o.ValueSize = int(fieldCount * fieldLength)
	}
	if hasOps && !hasTime && o.Operations > 0 {
		o.Duration = 0 // run the operations, however long they take
	}
	return warnings, o.Workload.Validate()
}

func (p Properties) applyOne(o *Options, k, v string) (warning string, err error) {
	switch k {
	case "recordcount":
		o.Records, err = parseInt(k, v, 1)
	case "operationcount":
		o.Operations, err = parseInt(k, v, 0)
	case "readproportion":
		o.Workload.ReadProp, err = parseProportion(k, v)
	case "updateproportion":
		o.Workload.UpdateProp, err = parseProportion(k, v)
	case "insertproportion":
		o.Workload.InsertProp, err = parseProportion(k, v)
	case "readmodifywriteproportion":
		o.Workload.ReadModifyWrite, err = parseProportion(k, v)
	case "scanproportion":
		var f float64
		if f, err = parseProportion(k, v); err == nil && f != 0 {
			err = fmt.Errorf("%w: scanproportion=%s: scans are not supported (the driver interface has only get and put; ringkv has no range reads)", ErrInvalid, v)
		}
	case "requestdistribution":
		o.Workload.Distribution, err = ParseDistribution(v)
	case "maxexecutiontime":
		var s int64
		s, err = parseInt(k, v, 0)
		o.Duration = time.Duration(s) * time.Second
	case "threadcount":
		var n int64
		n, err = parseInt(k, v, 1)
		o.Clients = int(n)
	case "target":
		o.Rate, err = parseProportion(k, v)
	case "insertorder":
		switch v {
		case "hashed", "ordered":
			o.OrderedInserts = v == "ordered"
		default:
			err = fmt.Errorf("%w: insertorder=%q (want hashed or ordered)", ErrInvalid, v)
		}
	case "fieldlengthdistribution":
		if v != "constant" {
			return fmt.Sprintf("fieldlengthdistribution=%s ignored: values have a fixed size", v), nil
		}
	default:
		if !ignoredProperties[k] {
			return fmt.Sprintf("unknown property %q ignored", k), nil
		}
	}
	return "", err
}

func parseInt(k, v string, least int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < least {
		return 0, fmt.Errorf("%w: %s=%q is not a whole number of at least %d", ErrInvalid, k, v, least)
	}
	return n, nil
}

func parseProportion(k, v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: %s=%q is not a non-negative number", ErrInvalid, k, v)
	}
	return f, nil
}
