package dot_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// A parser of the DOT language as Graphviz documents it
// (https://graphviz.org/doc/info/lang.html), enough to check what Write
// produces: the grammar, every ID form (identifiers, numerals, quoted
// strings with escapes, HTML strings), and what the graph declares.
//
//	graph     : [strict] (graph | digraph) [ID] '{' stmt_list '}'
//	stmt_list : [ stmt [ ';' ] stmt_list ]
//	stmt      : node_stmt | edge_stmt | attr_stmt | ID '=' ID | subgraph
//	attr_stmt : (graph | node | edge) attr_list
//	attr_list : '[' [ a_list ] ']' [ attr_list ]
//	a_list    : ID '=' ID [ (';' | ',') ] [ a_list ]
//	edge_stmt : (node_id | subgraph) edgeRHS [ attr_list ]
//	edgeRHS   : edgeop (node_id | subgraph) [ edgeRHS ]
//	node_stmt : node_id [ attr_list ]
//	node_id   : ID [ port ]
//	subgraph  : [ subgraph [ ID ] ] '{' stmt_list '}'

type tokKind int

const (
	tokEOF tokKind = iota
	tokID
	tokHTML // an HTML string: <...>
	tokPunct
	tokEdgeOp
)

type token struct {
	kind tokKind
	text string // for tokID: the unquoted value
	off  int
}

type lexer struct {
	src  string
	pos  int
	toks []token
}

func lex(src string) ([]token, error) {
	l := &lexer{src: src}
	for {
		l.skipSpace()
		if l.pos >= len(l.src) {
			l.toks = append(l.toks, token{kind: tokEOF, off: l.pos})
			return l.toks, nil
		}
		start := l.pos
		c := l.src[l.pos]
		switch {
		case strings.HasPrefix(l.src[l.pos:], "->") || strings.HasPrefix(l.src[l.pos:], "--"):
			l.toks = append(l.toks, token{kind: tokEdgeOp, text: l.src[l.pos : l.pos+2], off: start})
			l.pos += 2
		case strings.ContainsRune("{}[]=;,:", rune(c)):
			l.toks = append(l.toks, token{kind: tokPunct, text: string(c), off: start})
			l.pos++
		case c == '"':
			s, err := l.quoted()
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, token{kind: tokID, text: s, off: start})
		case c == '<':
			s, err := l.html()
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, token{kind: tokHTML, text: s, off: start})
		case c == '-' || c == '.' || c >= '0' && c <= '9':
			l.pos++
			for l.pos < len(l.src) && (l.src[l.pos] == '.' || l.src[l.pos] >= '0' && l.src[l.pos] <= '9') {
				l.pos++
			}
			num := l.src[start:l.pos]
			if strings.Count(num, ".") > 1 || num == "-" || num == "." {
				return nil, fmt.Errorf("offset %d: bad numeral %q", start, num)
			}
			l.toks = append(l.toks, token{kind: tokID, text: num, off: start})
		case c == '_' || c >= 0x80 || unicode.IsLetter(rune(c)):
			for l.pos < len(l.src) {
				c := l.src[l.pos]
				if c != '_' && c < 0x80 && !unicode.IsLetter(rune(c)) && !unicode.IsDigit(rune(c)) {
					break
				}
				l.pos++
			}
			l.toks = append(l.toks, token{kind: tokID, text: l.src[start:l.pos], off: start})
		default:
			return nil, fmt.Errorf("offset %d: unexpected %q", start, c)
		}
	}
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.pos++
		case strings.HasPrefix(l.src[l.pos:], "//"):
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		default:
			return
		}
	}
}

// quoted reads a double-quoted string; the only escape DOT defines is
// \" (other backslashes stay, for Graphviz's \n, \l, \\).
func (l *lexer) quoted() (string, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\\' && l.pos+1 < len(l.src):
			b.WriteString(l.src[l.pos : l.pos+2])
			l.pos += 2
		case c == '"':
			l.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return "", fmt.Errorf("offset %d: unterminated string", start)
}

// html reads an HTML string: angle brackets balance.
func (l *lexer) html() (string, error) {
	start, depth := l.pos, 0
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case '<':
			depth++
		case '>':
			depth--
		}
		l.pos++
		if depth == 0 {
			return l.src[start+1 : l.pos-1], nil
		}
	}
	return "", fmt.Errorf("offset %d: unterminated HTML string", start)
}

// parsed is what a DOT graph declares.
type parsed struct {
	directed bool
	name     string
	attrs    map[string]string // graph attributes
	nodes    map[string]*pnode
	order    []string // node names in declaration order
	clusters map[string]*pcluster
	edges    []pedge
}

type pnode struct {
	name    string
	attrs   map[string]string
	cluster string // innermost enclosing subgraph ("" at top level)
}

type pcluster struct {
	name   string
	parent string
	attrs  map[string]string
}

type pedge struct {
	tail, head string
	attrs      map[string]string
}

type parser struct {
	toks []token
	i    int
	g    *parsed
	// htmlLabels collects every HTML string, checked as XML afterwards.
	htmlLabels []string
}

func parseDOT(src string) (*parsed, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, g: &parsed{attrs: map[string]string{}, nodes: map[string]*pnode{}, clusters: map[string]*pcluster{}}}
	if err := p.graph(); err != nil {
		return nil, err
	}
	for _, h := range p.htmlLabels {
		if err := checkHTML(h); err != nil {
			return nil, fmt.Errorf("HTML label <%s>: %w", h, err)
		}
	}
	return p.g, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.peek().off, fmt.Sprintf(format, args...))
}

func (p *parser) isKeyword(t token, kw string) bool {
	return t.kind == tokID && strings.EqualFold(t.text, kw)
}

func (p *parser) punct(s string) bool {
	if t := p.peek(); t.kind == tokPunct && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *parser) id() (string, bool) {
	t := p.peek()
	switch t.kind {
	case tokID:
		p.i++
		return t.text, true
	case tokHTML:
		p.i++
		p.htmlLabels = append(p.htmlLabels, t.text)
		return "<" + t.text + ">", true
	}
	return "", false
}

func (p *parser) graph() error {
	if p.isKeyword(p.peek(), "strict") {
		p.next()
	}
	switch t := p.next(); {
	case p.isKeyword(t, "digraph"):
		p.g.directed = true
	case p.isKeyword(t, "graph"):
	default:
		return fmt.Errorf("offset %d: want graph or digraph", t.off)
	}
	if name, ok := p.id(); ok {
		p.g.name = name
	}
	if !p.punct("{") {
		return p.errf("want {")
	}
	if err := p.stmtList(""); err != nil {
		return err
	}
	if !p.punct("}") {
		return p.errf("want }")
	}
	if t := p.peek(); t.kind != tokEOF {
		return p.errf("text after the graph")
	}
	return nil
}

func (p *parser) stmtList(cluster string) error {
	for {
		t := p.peek()
		if t.kind == tokEOF || t.kind == tokPunct && t.text == "}" {
			return nil
		}
		if err := p.stmt(cluster); err != nil {
			return err
		}
		p.punct(";")
	}
}

func (p *parser) stmt(cluster string) error {
	t := p.peek()
	switch {
	case p.isKeyword(t, "graph") || p.isKeyword(t, "node") || p.isKeyword(t, "edge"):
		p.next()
		attrs, err := p.attrList(true)
		if err != nil {
			return err
		}
		if p.isKeyword(t, "graph") && cluster == "" {
			for k, v := range attrs {
				p.g.attrs[k] = v
			}
		} else if p.isKeyword(t, "graph") {
			for k, v := range attrs {
				p.g.clusters[cluster].attrs[k] = v
			}
		}
		return nil
	case p.isKeyword(t, "subgraph") || t.kind == tokPunct && t.text == "{":
		_, err := p.subgraph(cluster)
		return err
	}
	first, ok := p.id()
	if !ok {
		return p.errf("want a statement")
	}
	if p.punct("=") { // ID '=' ID
		v, ok := p.id()
		if !ok {
			return p.errf("want a value after %s=", first)
		}
		if cluster == "" {
			p.g.attrs[first] = v
		} else {
			p.g.clusters[cluster].attrs[first] = v
		}
		return nil
	}
	if err := p.port(); err != nil {
		return err
	}
	if t := p.peek(); t.kind == tokEdgeOp {
		return p.edgeRHS(cluster, first)
	}
	attrs, err := p.attrList(false)
	if err != nil {
		return err
	}
	n := p.g.nodes[first]
	if n == nil {
		n = &pnode{name: first, attrs: map[string]string{}, cluster: cluster}
		p.g.nodes[first] = n
		p.g.order = append(p.g.order, first)
	}
	for k, v := range attrs {
		n.attrs[k] = v
	}
	return nil
}

func (p *parser) port() error {
	if !p.punct(":") {
		return nil
	}
	if _, ok := p.id(); !ok {
		return p.errf("want a port")
	}
	if p.punct(":") {
		if _, ok := p.id(); !ok {
			return p.errf("want a compass point")
		}
	}
	return nil
}

func (p *parser) edgeRHS(cluster, tail string) error {
	var ends []string
	ends = append(ends, tail)
	for p.peek().kind == tokEdgeOp {
		op := p.next()
		if p.g.directed != (op.text == "->") {
			return fmt.Errorf("offset %d: edge operator %s in a %s", op.off, op.text, map[bool]string{true: "digraph", false: "graph"}[p.g.directed])
		}
		if t := p.peek(); p.isKeyword(t, "subgraph") || t.kind == tokPunct && t.text == "{" {
			return p.errf("edges to subgraphs are not produced by Write")
		}
		head, ok := p.id()
		if !ok {
			return p.errf("want a node after %s", op.text)
		}
		if err := p.port(); err != nil {
			return err
		}
		ends = append(ends, head)
	}
	attrs, err := p.attrList(false)
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(ends); i++ {
		p.g.edges = append(p.g.edges, pedge{tail: ends[i], head: ends[i+1], attrs: attrs})
	}
	return nil
}

func (p *parser) subgraph(parent string) (string, error) {
	name := ""
	if p.isKeyword(p.peek(), "subgraph") {
		p.next()
		if id, ok := p.id(); ok {
			name = id
		}
	}
	if !p.punct("{") {
		return "", p.errf("want { after subgraph")
	}
	if name == "" {
		name = fmt.Sprintf("anon%d", p.i)
	}
	if _, dup := p.g.clusters[name]; dup {
		return "", p.errf("subgraph %s declared twice", name)
	}
	p.g.clusters[name] = &pcluster{name: name, parent: parent, attrs: map[string]string{}}
	if err := p.stmtList(name); err != nil {
		return "", err
	}
	if !p.punct("}") {
		return "", p.errf("want } closing subgraph %s", name)
	}
	return name, nil
}

// attrList parses attr_list; required says whether at least one [...]
// must follow.
func (p *parser) attrList(required bool) (map[string]string, error) {
	attrs := map[string]string{}
	seen := false
	for p.punct("[") {
		seen = true
		for !p.punct("]") {
			k, ok := p.id()
			if !ok {
				return nil, p.errf("want an attribute name")
			}
			if !p.punct("=") {
				return nil, p.errf("want = after attribute %s", k)
			}
			v, ok := p.id()
			if !ok {
				return nil, p.errf("want a value for attribute %s", k)
			}
			if _, dup := attrs[k]; dup {
				return nil, p.errf("attribute %s given twice", k)
			}
			attrs[k] = v
			if !p.punct(",") {
				p.punct(";")
			}
		}
	}
	if required && !seen {
		return nil, p.errf("want [")
	}
	return attrs, nil
}

// checkHTML checks that an HTML label is well-formed markup, as Graphviz
// requires.
func checkHTML(s string) error {
	dec := xml.NewDecoder(strings.NewReader("<x>" + s + "</x>"))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// inside reports whether node n is inside cluster c (at any depth).
func (g *parsed) inside(n *pnode, c string) bool {
	for cl := n.cluster; cl != ""; cl = g.clusters[cl].parent {
		if cl == c {
			return true
		}
	}
	return false
}
