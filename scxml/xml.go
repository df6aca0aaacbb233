package scxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// The parser reads the document with encoding/xml into a small tree of
// nodes that remember where each element starts. (github.com/beevik/etree,
// the usual choice, keeps no line or column numbers, and positioned errors
// are a requirement here.)

// maxDepth bounds element nesting, so that a hostile document cannot make the
// recursive builder exhaust the stack.
const maxDepth = 1000

type node struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*node
	text     strings.Builder // character data directly inside the element
	pos      Pos
	// inner is the raw markup between the start and end tags, for <content>
	// and foreign elements that carry XML.
	inner string
	outer string
}

func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// readTree parses src into a tree. Its errors carry the position of the
// problem, as reported by encoding/xml.
func readTree(file string, src []byte) (*node, error) {
	src, err := toUTF8(src)
	if err != nil {
		return nil, &Error{File: file, Pos: Pos{1, 1}, Msg: err.Error()}
	}
	d := xml.NewDecoder(bytes.NewReader(src))
	d.CharsetReader = charsetReader
	var (
		root  *node
		stack []*node
		// starts holds, for each open element, the offset just after its
		// start tag and the offset of its '<'.
		starts [][2]int64
	)
	for {
		line, col := d.InputPos()
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			pos := Pos{line, col}
			msg := err.Error()
			if errors.As(err, &se) {
				// The decoder stopped where it found the problem; on the
				// reported line, that is the column.
				pos = Pos{se.Line, 1}
				if l, c := d.InputPos(); l == se.Line {
					pos.Col = c
				}
				msg = se.Msg
			}
			return nil, &Error{File: file, Pos: pos, Msg: "XML: " + msg}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, &Error{File: file, Pos: Pos{line, col}, Msg: fmt.Sprintf("elements nested deeper than %d", maxDepth)}
			}
			// InputPos before Token is the end of the previous token, which
			// is the '<' of this element: character data and comments are
			// tokens of their own.
			n := &node{name: t.Name, attrs: t.Copy().Attr, pos: Pos{line, col}}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root != nil {
				return nil, &Error{File: file, Pos: n.pos, Msg: "XML: more than one root element"}
			} else {
				root = n
			}
			stack = append(stack, n)
			starts = append(starts, [2]int64{d.InputOffset(), off})
		case xml.EndElement:
			n := stack[len(stack)-1]
			s := starts[len(starts)-1]
			n.inner = string(src[s[0]:off])
			n.outer = string(src[s[1]:d.InputOffset()])
			stack, starts = stack[:len(stack)-1], starts[:len(starts)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, &Error{File: file, Pos: Pos{line, col}, Msg: "XML: text outside the root element"}
			}
		}
	}
	if root == nil {
		return nil, &Error{File: file, Pos: Pos{1, 1}, Msg: "XML: no root element"}
	}
	return root, nil
}

// toUTF8 converts a UTF-16 document (recognised by its byte-order mark or by
// "<" encoded on two bytes) and a declared single-byte one to UTF-8:
// encoding/xml only reads UTF-8, and UTF-16 is an encoding XML processors
// must accept. Unpaired surrogates become U+FFFD.
func toUTF8(src []byte) ([]byte, error) {
	var enc encoding.Encoding
	switch {
	case bytes.HasPrefix(src, []byte{0xFE, 0xFF}), bytes.HasPrefix(src, []byte{0, '<'}):
		enc = unicode.UTF16(unicode.BigEndian, unicode.UseBOM)
	case bytes.HasPrefix(src, []byte{0xFF, 0xFE}), bytes.HasPrefix(src, []byte{'<', 0}):
		enc = unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)
	default:
		src = bytes.TrimPrefix(src, []byte{0xEF, 0xBB, 0xBF})
		if enc = singleByte(declaredEncoding(src)); enc == nil {
			return src, nil
		}
	}
	if enc != charmap.ISO8859_1 && enc != charmap.Windows1252 && len(src)%2 != 0 {
		return nil, errors.New("UTF-16 document with an odd number of bytes")
	}
	return enc.NewDecoder().Bytes(src)
}

// declaredEncoding returns the encoding of the XML declaration, if any.
func declaredEncoding(src []byte) string {
	if !bytes.HasPrefix(src, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(src, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := string(src[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n=")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	if j := strings.IndexByte(rest[1:], rest[0]); j >= 0 {
		return rest[1 : 1+j]
	}
	return ""
}

// singleByte returns the single-byte encoding label names, if this parser
// converts it itself (windows-1252's undefined bytes become U+FFFD).
func singleByte(label string) encoding.Encoding {
	switch strings.ToLower(label) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return charmap.ISO8859_1
	case "windows-1252", "cp1252":
		return charmap.Windows1252
	}
	return nil
}

// Documents are converted to UTF-8 before encoding/xml sees them, so that
// byte offsets into the converted text stay meaningful (the raw markup of
// <content> is sliced from it). The decoder still asks about the declared
// encoding, and gets the text unchanged.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-16", "utf16", "utf-16le", "utf-16be", "us-ascii", "ascii":
		return in, nil
	}
	if singleByte(label) != nil {
		return in, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (use UTF-8, UTF-16, ISO-8859-1 or windows-1252)", label)
}
