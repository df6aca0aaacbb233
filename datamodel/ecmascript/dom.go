package ecmascript

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dop251/goja"

	"github.com/orsgo/engine/interp"
)

// DOM node types (the nodeType values of the W3C DOM).
const (
	domElement  = 1
	domAttr     = 2
	domText     = 3
	domPI       = 7
	domComment  = 8
	domDocument = 9
)

const (
	xmlNamespace   = "http://www.w3.org/interp.XML/1998/namespace"
	xmlnsNamespace = "http://www.w3.org/2000/xmlns/"
)

// xmlDoc is a parsed, read-only XML document. Its nodes' ECMAScript
// objects are made on first use and kept, so that a node is always the
// same object.
type xmlDoc struct {
	source string
	root   *xmlNode // the document node
	nodes  []*xmlNode
	d      *datamodel
}

type xmlNode struct {
	typ    int
	name   string // nodeName of elements, attributes and processing instructions
	prefix string
	local  string
	ns     string
	hasNS  bool
	value  string     // text, comment and PI data, attribute value
	parent *xmlNode   // the owner element of an attribute
	pos    int        // index in parent.children (or parent.attrs)
	attrs  []*xmlNode // elements
	kids   []*xmlNode
	doc    *xmlDoc
	index  int // in doc.nodes

	obj, childList, attrList *goja.Object
}

func (doc *xmlDoc) add(n *xmlNode) *xmlNode {
	n.doc = doc
	n.index = len(doc.nodes)
	doc.nodes = append(doc.nodes, n)
	return n
}

var errNotXML = errors.New("not a single well-formed interp.XML element")

// parseXML parses markup made of one root element, with optional XML
// declaration, doctype, comments and processing instructions around it.
func parseXML(src string) (*xmlDoc, error) {
	dec := xml.NewDecoder(strings.NewReader(src))
	dec.Strict = true
	// src is text already: whatever its declaration says, do not decode.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	doc := &xmlDoc{source: src}
	doc.root = doc.add(&xmlNode{typ: domDocument, name: "#document"})
	cur := doc.root
	scopes := []map[string]string{{"xml": xmlNamespace}}
	lookup := func(prefix string) (string, bool) {
		for i := len(scopes) - 1; i >= 0; i-- {
			if uri, ok := scopes[i][prefix]; ok {
				return uri, uri != "" || prefix != ""
			}
		}
		return "", false
	}
	appendChild := func(n *xmlNode) {
		n.parent, n.pos = cur, len(cur.kids)
		cur.kids = append(cur.kids, n)
	}
	sawRoot := false
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if cur == doc.root {
				if sawRoot {
					return nil, fmt.Errorf("%w: more than one root element", errNotXML)
				}
				sawRoot = true
			}
			scope := map[string]string{}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					scope[""] = a.Value
				case a.Name.Space == "xmlns":
					scope[a.Name.Local] = a.Value
				}
			}
			scopes = append(scopes, scope)
			el := doc.add(&xmlNode{typ: domElement, name: qname(t.Name), prefix: t.Name.Space, local: t.Name.Local})
			el.ns, el.hasNS = lookup(t.Name.Space)
			for i, a := range t.Attr {
				at := doc.add(&xmlNode{typ: domAttr, name: qname(a.Name), prefix: a.Name.Space, local: a.Name.Local, value: a.Value, parent: el, pos: i})
				switch {
				case a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns":
					at.ns, at.hasNS = xmlnsNamespace, true
				case a.Name.Space != "":
					at.ns, at.hasNS = lookup(a.Name.Space)
				}
				el.attrs = append(el.attrs, at)
			}
			appendChild(el)
			cur = el
		case xml.EndElement:
			if cur == doc.root || cur.name != qname(t.Name) {
				return nil, fmt.Errorf("%w: unexpected </%s>", errNotXML, qname(t.Name))
			}
			cur = cur.parent
			scopes = scopes[:len(scopes)-1]
		case xml.CharData:
			if cur == doc.root {
				if strings.TrimSpace(string(t)) != "" {
					return nil, fmt.Errorf("%w: text outside the root element", errNotXML)
				}
				continue
			}
			if k := len(cur.kids); k > 0 && cur.kids[k-1].typ == domText {
				cur.kids[k-1].value += string(t) // a CDATA section next to text
				continue
			}
			appendChild(doc.add(&xmlNode{typ: domText, name: "#text", value: string(t)}))
		case xml.Comment:
			appendChild(doc.add(&xmlNode{typ: domComment, name: "#comment", value: string(t)}))
		case xml.ProcInst:
			if t.Target == "xml" {
				continue // the declaration is not a node
			}
			appendChild(doc.add(&xmlNode{typ: domPI, name: t.Target, value: string(t.Inst)}))
		case xml.Directive:
			if sawRoot {
				return nil, fmt.Errorf("%w: <!%s> after the root element", errNotXML, firstWord(string(t)))
			}
		}
	}
	if !sawRoot || cur != doc.root {
		return nil, fmt.Errorf("%w: no complete root element", errNotXML)
	}
	return doc, nil
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// xmlMarkup reports whether s looks like markup worth parsing.
func xmlMarkup(s string) bool { return strings.HasPrefix(s, "<") }

// serialize writes the markup of n.
func (n *xmlNode) serialize(b *strings.Builder) {
	switch n.typ {
	case domDocument:
		for _, k := range n.kids {
			k.serialize(b)
		}
	case domElement:
		b.WriteString("<" + n.name)
		for _, a := range n.attrs {
			b.WriteString(" " + a.name + `="`)
			escapeXML(b, a.value, true)
			b.WriteString(`"`)
		}
		if len(n.kids) == 0 {
			b.WriteString("/>")
			return
		}
		b.WriteString(">")
		for _, k := range n.kids {
			k.serialize(b)
		}
		b.WriteString("</" + n.name + ">")
	case domText:
		escapeXML(b, n.value, false)
	case domAttr:
		escapeXML(b, n.value, false)
	case domComment:
		b.WriteString("<!--" + n.value + "-->")
	case domPI:
		b.WriteString("<?" + n.name)
		if n.value != "" {
			b.WriteString(" " + n.value)
		}
		b.WriteString("?>")
	}
}

func escapeXML(b *strings.Builder, s string, attr bool) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;")
		case attr && r == '"':
			b.WriteString("&quot;")
		case attr && r == '\n':
			b.WriteString("&#xA;")
		case attr && r == '\t':
			b.WriteString("&#x9;")
		default:
			b.WriteRune(r)
		}
	}
}

func (n *xmlNode) markup() string {
	var b strings.Builder
	n.serialize(&b)
	return b.String()
}

// text is the textContent of n.
func (n *xmlNode) text() string {
	switch n.typ {
	case domElement:
		var b strings.Builder
		var walk func(*xmlNode)
		walk = func(n *xmlNode) {
			for _, k := range n.kids {
				switch k.typ {
				case domText:
					b.WriteString(k.value)
				case domElement:
					walk(k)
				}
			}
		}
		walk(n)
		return b.String()
	default:
		return n.value
	}
}

// goValue is n as Go data (Event.Data): a document or element is *XML,
// another node its text.
func (n *xmlNode) goValue() any {
	switch n.typ {
	case domDocument:
		return &interp.XML{Source: n.doc.source}
	case domElement:
		return &interp.XML{Source: n.markup()}
	default:
		return n.text()
	}
}

func (n *xmlNode) elementsByTagName(match func(*xmlNode) bool) []*xmlNode {
	var out []*xmlNode
	var walk func(*xmlNode)
	walk = func(n *xmlNode) {
		for _, k := range n.kids {
			if k.typ == domElement {
				if match(k) {
					out = append(out, k)
				}
				walk(k)
			}
		}
	}
	walk(n)
	return out
}

func (n *xmlNode) sibling(delta int) *xmlNode {
	if n.parent == nil || n.typ == domAttr {
		return nil
	}
	i := n.pos + delta
	if i < 0 || i >= len(n.parent.kids) {
		return nil
	}
	return n.parent.kids[i]
}

func (n *xmlNode) attr(name string) *xmlNode {
	for _, a := range n.attrs {
		if a.name == name {
			return a
		}
	}
	return nil
}

func (n *xmlNode) attrNS(ns, local string) *xmlNode {
	for _, a := range n.attrs {
		if a.ns == ns && a.local == local {
			return a
		}
	}
	return nil
}

func (n *xmlNode) elements() []*xmlNode {
	var out []*xmlNode
	for _, k := range n.kids {
		if k.typ == domElement {
			out = append(out, k)
		}
	}
	return out
}
