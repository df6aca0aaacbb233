package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Loader reads what a document's src attributes name: the document of an
// <invoke src> when the invoke runs, and the <script src> and <data src>
// targets when the document is parsed with ParseOptions. doc is the file
// of the document that names src, for resolving a relative name ("" when
// src is already resolved); it returns the content and the name to give
// it (the resolved path: an invoked document's own relative srcs resolve
// against it). The interpreter does no I/O of its own: every read goes
// through the engine's Loader.
type Loader func(doc, src string) (data []byte, name string, err error)

// load calls the Loader, guarded: extension code.
func (e *Engine) load(doc, src string) (data []byte, name string, err error) {
	err = guard("Loader", func() error {
		data, name, err = e.opts.Loader(doc, src)
		return err
	})
	return data, name, err
}

// DefaultMaxLoadSize is the size limit of the default Loader.
const DefaultMaxLoadSize = 4 << 20

// ErrLoad is wrapped by the errors of FileLoader: a src that is not a
// local file, is missing, or is larger than the limit.
var ErrLoad = errors.New("engine: src cannot be loaded")

// FileLoader returns a Loader of local files: src is a path or a
// "file:" URL; a relative one is resolved against base when base is not
// "", else against the directory of the document naming it (the
// default). Other URLs ("http://...") are refused, and so is a file
// larger than maxSize bytes (DefaultMaxLoadSize when maxSize <= 0).
func FileLoader(base string, maxSize int64) Loader {
	if maxSize <= 0 {
		maxSize = DefaultMaxLoadSize
	}
	return func(doc, src string) ([]byte, string, error) {
		path := src
		if p, ok := strings.CutPrefix(path, "file:"); ok {
			path = strings.TrimPrefix(p, "//")
		} else if strings.Contains(path, "://") {
			return nil, "", fmt.Errorf("%q: only local files can be loaded: %w", src, ErrLoad)
		}
		if !filepath.IsAbs(path) {
			switch {
			case base != "":
				path = filepath.Join(base, path)
			case doc != "":
				path = filepath.Join(filepath.Dir(doc), path)
			}
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrLoad, err)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w: %w", path, ErrLoad, err)
		}
		if int64(len(data)) > maxSize {
			return nil, "", fmt.Errorf("%s: larger than %d bytes: %w", path, maxSize, ErrLoad)
		}
		return data, path, nil
	}
}
