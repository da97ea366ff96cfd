// Package props reads YCSB property files: the Java .properties format that
// YCSB's workload files (workloads/workloada ...) and its -p overrides use.
//
// Supported: '#' and '!' comment lines, "key=value", "key: value" and
// "key value" separators, whitespace around keys and values, lines continued
// with a trailing backslash, and the escapes \t \n \r \f \\ \= \: \# \! and
// \uXXXX. A later setting of a key replaces an earlier one, as in Java.
package props

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrSyntax reports a malformed line or value; errors wrap it with the place.
var ErrSyntax = errors.New("props: syntax error")

// Props is a set of properties. The zero value is empty and ready to use;
// Set makes it. Not safe for concurrent mutation.
type Props map[string]string

// Parse reads properties from r; name labels errors.
func Parse(r io.Reader, name string) (Props, error) {
	p := Props{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		start := lineNo
		for continued(line) && sc.Scan() {
			lineNo++
			line = line[:len(line)-1] + strings.TrimLeft(sc.Text(), " \t\f")
		}
		if continued(line) { // a continuation at end of input continues into nothing
			line = line[:len(line)-1]
		}
		k, v, err := splitLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %w", ErrSyntax, name, start, err)
		}
		p[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("props: %s: %w", name, err)
	}
	return p, nil
}

// ReadFile parses the property file at path.
func ReadFile(path string) (Props, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("props: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// continued reports whether line ends in an odd number of backslashes.
func continued(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitLine splits a logical line (leading whitespace already trimmed) into
// its unescaped key and value.
func splitLine(line string) (string, string, error) {
	end := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			end = i
			break
		}
	}
	rawKey, rest := line[:end], line[end:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	key, err := unescape(rawKey)
	if err != nil {
		return "", "", err
	}
	val, err := unescape(rest)
	if err != nil {
		return "", "", err
	}
	return key, val, nil
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break // a lone trailing backslash means nothing
		}
		switch c = s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("short \\u escape in %q", s)
			}
			r, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
			if err != nil {
				return "", fmt.Errorf("bad \\u escape in %q", s)
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			b.WriteByte(c) // \\ \= \: \# \! and Java's "any other char is itself"
		}
	}
	if !utf8.ValidString(b.String()) {
		return "", fmt.Errorf("invalid UTF-8 in %q", s)
	}
	return b.String(), nil
}

// Set parses "key=value" (as given to YCSB's -p) and stores it.
func (p Props) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("%w: %q is not key=value", ErrSyntax, kv)
	}
	p[k] = strings.TrimSpace(v)
	return nil
}

// Merge copies every property of o into p, replacing p's.
func (p Props) Merge(o Props) {
	for k, v := range o {
		p[k] = v
	}
}

// Keys returns the keys in sorted order.
func (p Props) Keys() []string {
	ks := make([]string, 0, len(p))
	for k := range p {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// String returns the value of key, or def when it is not set.
func (p Props) String(key, def string) string {
	if v, ok := p[key]; ok {
		return v
	}
	return def
}

// Int returns key as an integer (Java long syntax, underscores allowed), or
// def when it is not set.
func (p Props) Int(key string, def int64) (int64, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(v), "_", ""), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not an integer", ErrSyntax, key, v)
	}
	return n, nil
}

// Float returns key as a number, or def when it is not set.
func (p Props) Float(key string, def float64) (float64, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not a number", ErrSyntax, key, v)
	}
	return f, nil
}

// Bool returns key as a boolean (true/false, any case), or def when unset.
func (p Props) Bool(key string, def bool) (bool, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v)))
	if err != nil {
		return false, fmt.Errorf("%w: %s=%q is not true or false", ErrSyntax, key, v)
	}
	return b, nil
}
