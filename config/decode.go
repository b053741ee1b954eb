package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The decoder walks yaml.v3's node tree against the Go schema itself instead of calling
// Node.Decode: that gives every error its file, line and setting path, lists the known
// fields on a typo, refuses what yaml.v3 would accept silently (duplicate keys, 1.5 into
// an int), and lets each file override only what it names, with products and table
// entries merged by key.

// pos is where a setting was last set.
type pos struct {
	file string
	line int
	path string // as a person reads it: products[2].match.args
}

// maxNodes bounds the values one file may expand to through YAML aliases.
const maxNodes = 100_000

// decoder applies files, one after another, onto one Config and remembers where each
// setting came from, keyed by a path that survives merging (products.revit.match.args),
// so that validation can point at the line that set it.
type decoder struct {
	cfg    *Config
	origin map[string]pos
	errs   []*Error
	file   string
	lines  int // in file; yaml.v3 places an empty value at the end one line past it
	budget int
}

func newDecoder(c *Config) *decoder {
	return &decoder{cfg: c, origin: make(map[string]pos)}
}

func (d *decoder) errorf(line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: min(line, d.lines), Msg: fmt.Sprintf(format, args...)})
}

// apply decodes one file onto d.cfg.
func (d *decoder) apply(file string, data []byte) {
	d.file, d.budget = file, maxNodes
	doc, lines, perr := parse(data)
	d.lines = lines
	if perr != nil {
		d.errs = append(d.errs, &Error{File: file, Line: perr.line, Msg: perr.msg})
		return
	}
	root := d.deref(doc.Content[0])
	switch {
	case root == nil:
	case isNull(root):
		d.errorf(root.Line, "the file holds no settings")
	case root.Kind != yaml.MappingNode:
		d.errorf(root.Line, "the file must hold settings as name: value lines, got %s", describe(root))
	default:
		d.fields(root, reflect.ValueOf(d.cfg).Elem(), "", "")
	}
}

// at is a position in the file being applied.
func (d *decoder) at(line int, path string) pos {
	return pos{d.file, min(line, d.lines), path}
}

// deref follows aliases and spends the file's node budget, which also stops an alias
// cycle.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	d.budget--
	if d.budget == -1 {
		d.errorf(n.Line, "anchors and aliases expand to more than %d values: write the settings out plainly", maxNodes)
	}
	if d.budget < 0 {
		return nil
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a group of settings"
	case yaml.SequenceNode:
		return "a list"
	}
	return quote(n.Value)
}

// quote quotes a value from a file for a message; see short.
func quote(s string) string { return strconv.Quote(short(s)) }

// short shortens a value from a file for a message, so that a garbled file cannot flood
// the log.
func short(s string) string {
	const limit = 60
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// field is one setting of a struct, named by its yaml tag.
type field struct {
	name  string
	index int
}

func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && name != "" && name != "-" {
			fs = append(fs, field{name, i})
		}
	}
	return fs
}

// fields applies a mapping onto the struct v.
func (d *decoder) fields(n *yaml.Node, v reflect.Value, path, key string) {
	fs := fieldsOf(v.Type())
	where := "at the top level"
	if path != "" {
		where = "in " + path
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := d.deref(n.Content[i]), n.Content[i+1]
		if kn == nil {
			return
		}
		if kn.Kind != yaml.ScalarNode {
			d.errorf(kn.Line, "a setting's name must be a plain word %s, got %s", where, describe(kn))
			continue
		}
		name := kn.Value
		if name == "<<" {
			d.errorf(kn.Line, "merge keys (<<) are not supported %s: write the settings out", where)
			continue
		}
		if line, dup := seen[name]; dup {
			d.errorf(kn.Line, "%s is set twice %s (also on line %d): keep one", short(name), where, line)
			continue
		}
		seen[name] = kn.Line
		idx := -1
		for _, f := range fs {
			if f.name == name {
				idx = f.index
			}
		}
		if idx < 0 {
			d.errorf(kn.Line, "unknown field %s %s; known fields: %s%s", quote(name), where, knownList(fs), suggest(name, fs))
			continue
		}
		// Where the name is, until a value's own line (if any) replaces it.
		d.origin[join(key, name)] = d.at(kn.Line, join(path, name))
		d.value(vn, v.Field(idx), join(path, name), join(key, name))
	}
}

func knownList(fs []field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// suggest names the known field closest to a typo, if one is close.
func suggest(name string, fs []field) string {
	best, bestDist := "", 3
	for _, f := range fs {
		if dist := editDistance(strings.ToLower(name), f.name); dist < bestDist {
			best, bestDist = f.name, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// value applies one node onto v, whose type is one the schema uses.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path, key string) {
	if n = d.deref(n); n == nil {
		return
	}
	switch t := v.Type(); {
	case t == reflect.TypeFor[time.Duration]():
		d.duration(n, v, path, key)
	case t == reflect.TypeFor[[]Product]():
		d.products(n, v, path, key)
	case t.Kind() == reflect.Struct:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, "%s: want its settings as name: value lines indented below it, got %s", path, describe(n))
			return
		}
		d.fields(n, v, path, key)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		d.strings(n, v, path, key)
	case t.Kind() == reflect.Map:
		d.table(n, v, path, key)
	case t.Kind() == reflect.String:
		if s, ok := d.str(n, path); ok {
			v.SetString(s)
			d.origin[key] = d.at(n.Line, path)
		}
	case t.Kind() == reflect.Bool:
		d.boolean(n, v, path, key)
	case t.Kind() == reflect.Int:
		d.integer(n, v, path, key)
	default:
		panic(fmt.Sprintf("config: schema type %s has no decoder", t))
	}
}

// scalar checks that n is a single value.
func (d *decoder) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, "%s: want %s, got %s", path, want, describe(n))
		return false
	}
	return true
}

// str accepts any single value as text, so that name: 2024 means "2024"; an empty value
// is the empty string.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	if !d.scalar(n, path, "a single value") {
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	return n.Value, true
}

func (d *decoder) boolean(n *yaml.Node, v reflect.Value, path, key string) {
	if !d.scalar(n, path, "true or false") {
		return
	}
	b, err := strconv.ParseBool(strings.ToLower(n.Value))
	if n.ShortTag() != "!!bool" || err != nil {
		d.errorf(n.Line, "%s: want true or false, got %s", path, quote(n.Value))
		return
	}
	v.SetBool(b)
	d.origin[key] = d.at(n.Line, path)
}

func (d *decoder) integer(n *yaml.Node, v reflect.Value, path, key string) {
	if !d.scalar(n, path, "a whole number") {
		return
	}
	var i int
	if n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		d.errorf(n.Line, "%s: want a whole number, got %s", path, quote(n.Value))
		return
	}
	v.SetInt(int64(i))
	d.origin[key] = d.at(n.Line, path)
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path, key string) {
	if !d.scalar(n, path, "a duration like 30s, 15m or 24h") {
		return
	}
	s := strings.TrimSpace(n.Value)
	dur, err := time.ParseDuration(s)
	_, numErr := strconv.ParseFloat(s, 64)
	switch {
	case err == nil && (n.ShortTag() == "!!str" || dur == 0):
		v.SetInt(int64(dur))
		d.origin[key] = d.at(n.Line, path)
	case isNull(n):
		d.errorf(n.Line, "%s: has no value: write a duration like 30s, 15m or 24h, or remove the line for the default", path)
	case numErr == nil:
		d.errorf(n.Line, "%s: %s has no unit: write a duration like 500ms, 30s, 15m or 24h", path, strings.Trim(quote(s), `"`))
	case strings.HasSuffix(s, "d") || strings.Contains(s, "day"):
		d.errorf(n.Line, "%s: %s is not a duration; there is no day unit: write 24h for a day, 168h for a week", path, quote(n.Value))
	default:
		d.errorf(n.Line, "%s: %s is not a duration: write a number and a unit (ms, s, m, h), like 500ms, 30s, 15m, 24h or 1h30m", path, quote(n.Value))
	}
}

func (d *decoder) strings(n *yaml.Node, v reflect.Value, path, key string) {
	if isNull(n) {
		v.SetZero()
		d.origin[key] = d.at(n.Line, path)
		return
	}
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.ScalarNode {
			d.errorf(n.Line, "%s: want a list, like [%s]", path, quote(n.Value))
		} else {
			d.errorf(n.Line, "%s: want a list, got %s", path, describe(n))
		}
		return
	}
	d.origin[key] = d.at(n.Line, path)
	list := make([]string, 0, len(n.Content))
	for i, en := range n.Content {
		if en = d.deref(en); en == nil {
			return
		}
		epath := fmt.Sprintf("%s[%d]", path, i)
		s, ok := d.str(en, epath)
		if !ok {
			continue
		}
		list = append(list, s)
		d.origin[fmt.Sprintf("%s[%d]", key, len(list)-1)] = d.at(en.Line, epath)
	}
	v.Set(reflect.ValueOf(list))
}

// table merges name: value entries into a map by key, ignoring case.
func (d *decoder) table(n *yaml.Node, v reflect.Value, path, key string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, "%s: want account: user lines, like \"STUDIO\\\\mary\": mary@studio.example, got %s", path, describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := d.deref(n.Content[i]), d.deref(n.Content[i+1])
		if kn == nil || vn == nil {
			return
		}
		if kn.Kind != yaml.ScalarNode || isNull(kn) || strings.TrimSpace(kn.Value) == "" {
			d.errorf(kn.Line, "%s: an account name must be a non-empty single value, got %s", path, describe(kn))
			continue
		}
		k := strings.ToLower(strings.TrimSpace(kn.Value))
		epath := fmt.Sprintf("%s[%s]", path, quote(kn.Value))
		if line, dup := seen[k]; dup {
			d.errorf(kn.Line, "%s: listed twice in this file (also on line %d; names ignore case): keep one", epath, line)
			continue
		}
		seen[k] = kn.Line
		s, ok := d.str(vn, epath)
		if !ok {
			continue
		}
		if strings.TrimSpace(s) == "" {
			d.errorf(vn.Line, "%s: has no licensing user: write one, like mary@studio.example", epath)
			continue
		}
		v.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(strings.TrimSpace(s)))
		d.origin[key+"."+k] = d.at(vn.Line, epath)
	}
}

// products merges a list of products into the catalogue by id: a known id is replaced
// whole, a new one is appended.
func (d *decoder) products(n *yaml.Node, v reflect.Value, path, key string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, "%s: want a list of products, each starting with \"- id: ...\", got %s", path, describe(n))
		return
	}
	list := v.Addr().Interface().(*[]Product)
	outer := d.origin
	defer func() { d.origin = outer }()
	seen := make(map[string]int)
	for i, en := range n.Content {
		if en = d.deref(en); en == nil {
			return
		}
		ppath := fmt.Sprintf("%s[%d]", path, i)
		if en.Kind != yaml.MappingNode {
			d.errorf(en.Line, "%s: want a product's settings (id, name, match), got %s", ppath, describe(en))
			continue
		}
		var p Product
		nerrs := len(d.errs)
		d.origin = make(map[string]pos)
		d.fields(en, reflect.ValueOf(&p).Elem(), ppath, "")
		local := d.origin
		d.origin = outer
		idPos, hasID := local["id"]
		switch {
		case !hasID:
			d.errorf(en.Line, "%s: has no id: every product needs one, like id: revit", ppath)
			continue
		case p.ID == "":
			d.errorf(idPos.line, "%s.id: is empty: every product needs one, like id: revit", ppath)
			continue
		}
		if line, dup := seen[p.ID]; dup {
			d.errorf(idPos.line, "%s: duplicate id %s (also on line %d): ids are unique within a file; a later drop-in may replace a product by reusing its id", ppath, quote(p.ID), line)
			continue
		}
		seen[p.ID] = idPos.line
		pkey := key + "." + p.ID
		for k := range outer {
			if k == pkey || strings.HasPrefix(k, pkey+".") {
				delete(outer, k)
			}
		}
		outer[pkey] = d.at(en.Line, ppath)
		for k, at := range local {
			if k != "" {
				outer[pkey+"."+k] = at
			}
		}
		if len(d.errs) == nerrs { // else its rules would be blamed for what failed to decode
			k := &checker{origin: outer, main: d.file}
			checkProduct(k, &p)
			d.errs = append(d.errs, k.errs...)
		}
		replaced := false
		for j := range *list {
			if (*list)[j].ID == p.ID {
				(*list)[j], replaced = p, true
			}
		}
		if !replaced {
			*list = append(*list, p)
		}
	}
}
