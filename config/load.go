package config

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DropinDir is the folder beside the main file whose files are layered over it.
const DropinDir = "conf.d"

// maxFileSize bounds a config file; anything larger is not a config file.
const maxFileSize = 1 << 20

// Options changes how configuration files are read. The zero value is what production
// uses.
type Options struct {
	// InsecureSkipPermissionCheck accepts config files and folders that users other than
	// root and the agent's own (on Windows: other than SYSTEM, Administrators and
	// TrustedInstaller) can write. Such files let any user change what is licensed, so
	// this is only for tests whose files cannot be owned properly.
	InsecureSkipPermissionCheck bool
}

// Load reads the main file, then the drop-ins in conf.d beside it, and validates the
// result; see LoadWith.
func Load(mainFile string) (*Config, error) {
	return LoadWith(mainFile, Options{})
}

// LoadWith reads mainFile, then every *.yaml, *.yml and *.json in the conf.d folder beside
// it in lexical order, skipping names that start with '.', '~' or '#' (editor and push
// temp files). Each file overrides the settings it names; products merge by id and
// identity.table entries by key. Every problem found is reported as an *Error with its
// file and line; several are joined with errors.Join.
func LoadWith(mainFile string, opts Options) (*Config, error) {
	main, err := filepath.Abs(mainFile)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", mainFile, err)
	}
	srcs, errs := readAll(main, !opts.InsecureSkipPermissionCheck)
	files := []string{main}
	d := newDecoder(Defaults())
	h := sha256.New()
	for _, s := range srcs {
		if s.path != main {
			files = append(files, s.path)
		}
		d.apply(s.path, s.data)
		fmt.Fprintf(h, "%s\x00%d\x00", s.path, len(s.data))
		h.Write(s.data)
	}
	errs = append(errs, d.errs...)
	errs = append(errs, d.finish(main, len(errs) > 0)...)
	if len(errs) > 0 {
		return nil, joinErrors(files, errs)
	}
	c := d.cfg
	c.files = files
	copy(c.digest[:], h.Sum(nil))
	return c, nil
}

// Parse decodes and validates a single file's bytes, as if it were a main file named name
// with no drop-ins. It reads nothing from disk.
func Parse(name string, data []byte) (*Config, error) {
	d := newDecoder(Defaults())
	d.apply(name, data)
	errs := append(d.errs, d.finish(name, len(d.errs) > 0)...)
	if len(errs) > 0 {
		return nil, joinErrors([]string{name}, errs)
	}
	d.cfg.files = []string{name}
	d.cfg.digest = sha256.Sum256(data)
	return d.cfg, nil
}

type source struct {
	path string
	data []byte
}

// readAll reads the main file and the drop-ins, checking who may write them when check
// is set. It reads what it can, so that one report lists every unreadable file.
func readAll(main string, check bool) ([]source, []*Error) {
	var srcs []source
	var errs []*Error
	dir := filepath.Dir(main)
	if check {
		if e := checkPath(dir, mainDir); e != nil {
			errs = append(errs, e)
		}
	}
	if data, e := readFile(main, check); e != nil {
		errs = append(errs, e)
	} else {
		srcs = append(srcs, source{main, data})
	}

	dd := filepath.Join(dir, DropinDir)
	entries, err := os.ReadDir(dd)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return srcs, errs
	case err != nil:
		return srcs, append(errs, &Error{File: dd, Msg: "cannot list drop-ins: " + osMsg(err)})
	}
	if check {
		if e := checkPath(dd, dropinDir); e != nil {
			return srcs, append(errs, e)
		}
	}
	for _, ent := range entries { // os.ReadDir sorts by name: the lexical order promised
		if !IsDropin(ent.Name()) || ent.IsDir() {
			continue
		}
		p := filepath.Join(dd, ent.Name())
		if data, e := readFile(p, check); e != nil {
			errs = append(errs, e)
		} else {
			srcs = append(srcs, source{p, data})
		}
	}
	return srcs, errs
}

// IsDropin tells the names in conf.d that are read: *.yaml, *.yml and *.json, except
// hidden files and editor or push temp files (.x.yaml, ~x.yaml, #x.yaml#, x.yaml~,
// x.yaml.swp, x.yaml.tmp), so that a half-written temp file never counts.
func IsDropin(name string) bool {
	if name == "" || strings.ContainsRune(".~#", rune(name[0])) {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func readFile(path string, check bool) ([]byte, *Error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &Error{File: path, Msg: "does not exist: create it (example.yaml shows every setting) or pass the right path"}
	case err != nil:
		return nil, &Error{File: path, Msg: "cannot read: " + osMsg(err)}
	case !fi.Mode().IsRegular(): // a FIFO would block the reader forever
		return nil, &Error{File: path, Msg: "is not a regular file"}
	case fi.Size() > maxFileSize:
		return nil, &Error{File: path, Msg: fmt.Sprintf("is %d bytes, more than a config file's %d: is it the right file?", fi.Size(), maxFileSize)}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read: " + osMsg(err)}
	}
	defer f.Close()
	if check {
		if err := checkPerm(f, path, configFile); err != nil {
			return nil, &Error{File: path, Msg: err.Error()}
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read: " + osMsg(err)}
	}
	if len(data) > maxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("is more than a config file's %d bytes: is it the right file?", maxFileSize)}
	}
	return data, nil
}

// target is what a permission check guards, which changes what is safe.
type target int

const (
	configFile target = iota
	dropinDir
	mainDir // may be sticky and world-writable, like /tmp: others cannot replace our files
)

func checkPath(path string, what target) *Error {
	f, err := os.Open(path)
	if err != nil {
		return &Error{File: path, Msg: "cannot check permissions: " + osMsg(err)}
	}
	defer f.Close()
	if err := checkPerm(f, path, what); err != nil {
		return &Error{File: path, Msg: err.Error()}
	}
	return nil
}

// osMsg drops the path an *fs.PathError repeats, since an *Error already names the file.
func osMsg(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
