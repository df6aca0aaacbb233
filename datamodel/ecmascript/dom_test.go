package ecmascript_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/orsgo/engine/datamodel"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
	"github.com/orsgo/engine/scxml"
)

// domDoc wraps states in a document whose <datamodel> is data; on event
// "check" it goes to pass when check holds, else logs diag.
func domDoc(data, onentry, check, diag string) string {
	return `<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:p="urn:outer" version="1.0" datamodel="ecmascript" initial="wait">
<datamodel>` + data + `</datamodel>
<state id="wait">
  <onentry>` + onentry + `</onentry>
  <transition event="check" cond="` + xmlAttr(check) + `" target="pass"/>
  <transition event="check" target="fail"><log label="diag" expr="` + xmlAttr(diag) + `"/></transition>
</state>
<final id="pass"/>
<final id="fail"/>
</scxml>`
}

func startDoc(t *testing.T, src string, opts *scxml.Options) (*interp.Session, *recHost, *interp.Machine) {
	t.Helper()
	if opts == nil {
		opts = &scxml.Options{}
	}
	opts.File = t.Name() + ".scxml"
	doc, err := scxml.Parse([]byte(src), opts)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	m, err := interp.Compile(doc, datamodel.Standard())
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	h := &recHost{}
	s := startSession(t, m, "dom", interp.Options{Host: h})
	return s, h, m
}

const booksXML = `<books xmlns="" xmlns:q="urn:q" kind="shelf">
  <!-- two books -->
  <book title="title1" q:id="b1">First &amp; <i>best</i></book>
  <q:book title="title2"><![CDATA[a<b]]></q:book>
  <?note keep?>
</books>`

// TestXMLDataDOM: XML content of <data> becomes a read-only DOM (B.2).
func TestXMLDataDOM(t *testing.T) {
	checks := []string{
		`x.nodeType === 9 && x.nodeName === "#document" && x.textContent === null && x.parentNode === null`,
		`x.documentElement.tagName === "books" && x.documentElement.nodeType === 1 && x.documentElement.parentNode === x`,
		`x.getElementsByTagName("book").length === 1 && x.getElementsByTagName("q:book").length === 1`,
		`x.getElementsByTagName("*").length === 4 && x.documentElement.getElementsByTagName("*").length === 3`,
		`x.getElementsByTagName("book")[0].getAttribute("title") === "title1" && x.getElementsByTagName("book").item(0) === x.getElementsByTagName("book")[0]`,
		`x.getElementsByTagName("book").item(5) === null && x.getElementsByTagName("book")[5] === undefined`,
		`x.getElementsByTagNameNS("urn:q", "book")[0].getAttribute("title") === "title2" && x.getElementsByTagNameNS("urn:q", "book")[0].localName === "book"`,
		`x.getElementsByTagNameNS("urn:q", "book")[0].prefix === "q" && x.getElementsByTagNameNS("urn:q", "book")[0].nodeName === "q:book"`,
		`x.documentElement.namespaceURI === null && x.getElementsByTagName("q:book")[0].namespaceURI === "urn:q"`,
		`x.documentElement.getAttribute("missing") === null && x.documentElement.hasAttribute("kind") && !x.documentElement.hasAttribute("missing")`,
		`x.getElementsByTagName("book")[0].getAttributeNS("urn:q", "id") === "b1" && x.getElementsByTagName("book")[0].getAttribute("q:id") === "b1"`,
		`x.documentElement.attributes.length === 3 && x.documentElement.attributes[2].name === "kind" && x.documentElement.attributes.getNamedItem("kind").value === "shelf"`,
		`x.documentElement.attributes[2].nodeType === 2 && x.documentElement.attributes[2].ownerElement === x.documentElement && x.documentElement.attributes[0].namespaceURI === "http://www.w3.org/2000/xmlns/"`,
		`x.getElementsByTagName("book")[0].textContent === "First & best" && x.getElementsByTagName("q:book")[0].textContent === "a<b"`,
		`x.getElementsByTagName("book")[0].firstChild.nodeType === 3 && x.getElementsByTagName("book")[0].firstChild.nodeValue === "First & "`,
		`x.documentElement.childNodes.length === 9 && x.documentElement.childNodes === x.documentElement.childNodes`,
		`x.documentElement.childNodes[1].nodeType === 8 && x.documentElement.childNodes[1].nodeValue === " two books "`,
		`x.documentElement.childNodes[7].nodeType === 7 && x.documentElement.childNodes[7].target === "note" && x.documentElement.childNodes[7].data === "keep"`,
		`x.documentElement.firstChild.nextSibling.nextSibling.nextSibling.previousSibling === x.documentElement.childNodes[2]`,
		`x.documentElement.children.length === 2 && x.documentElement.firstElementChild.getAttribute("title") === "title1" && x.documentElement.childElementCount === 2`,
		`x.documentElement.ownerDocument === x && x.documentElement === x.documentElement`,
		`x.getElementsByTagName("book")[0].getAttribute === x.documentElement.getAttribute`,
		`Array.prototype.map.call(x.getElementsByTagName("*"), function(e){ return e.nodeName }).join() === "books,book,i,q:book"`,
		`(function(){ var n = []; for (var e of x.documentElement.children) n.push(e.localName); return n.join() })() === "book,book"`,
		`String(x.getElementsByTagName("i")[0]) === "<i>best</i>" && String(x).indexOf("<q:book title=\"title2\">a&lt;b</q:book>") > 0`,
		`JSON.stringify(x) === "{}" && typeof x === "object"`,
		`y.getElementsByTagName("book")[1].getAttribute("title") === "t2" && y.documentElement.nodeName === "books"`,
		`typeof notxml === "string" && notxml === "1 < 2 and 3 > 2" && typeof tworoots === "string" && typeof escaped === "string" && escaped === "<a/>"`,
		`(function(){ "use strict"; try { x.documentElement.foo = 1; return false } catch (e) { return e instanceof TypeError } })()`,
		`(function(){ x.documentElement.tagName = "z"; return x.documentElement.tagName === "books" })()`,
	}
	files := map[string]string{
		"books.xml": "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!DOCTYPE books>\n<books><book title=\"t1\"/><book title=\"t2\"/></books>\n",
		"text.txt":  "1 < 2 and 3 > 2",
	}
	opts := &scxml.Options{ReadFile: func(path string) ([]byte, error) {
		for name, body := range files {
			if strings.HasSuffix(path, name) {
				return []byte(body), nil
			}
		}
		return nil, errors.New("no such file")
	}}
	data := `<data id="x">` + booksXML + `</data>
<data id="y" src="books.xml"/>
<data id="notxml" src="text.txt"/>
<data id="tworoots"><a/><b/></data>
<data id="escaped">&lt;a/&gt;</data>`
	for i, check := range checks {
		s, h, _ := startDoc(t, domDoc(data, "", check, `"check failed"`), opts)
		runCheck(t, s, h, check)
		_ = i
	}
}

// TestXMLContentEvent: <content> with XML gives _event.data as a DOM
// (test 561), also after the queued event went through a snapshot, and
// a DOM sent in a <param> or nested in content expr arrives as a DOM.
func TestXMLContentEvent(t *testing.T) {
	send := `<send event="foo"><content>` + booksXML + `</content></send>
<send event="bar"><param name="p" expr="x"/><param name="n" expr="x.documentElement.firstChild.attributes[0]"/><param name="e" expr="x.documentElement.firstChild"/></send>
<send event="baz"><content expr="({d: x.documentElement, l: x.getElementsByTagName('book')})"/></send>`
	src := `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="a">
<datamodel><data id="x"><r><book title="t"/></r></data></datamodel>
<state id="a">
  <onentry>` + send + `</onentry>
  <transition event="foo" cond="` + xmlAttr(`_event.data.getElementsByTagName('q:book')[0].getAttribute('title') === 'title2' && _event.data.nodeType === 9`) + `" target="b"/>
  <transition event="*" target="fail"><log label="diag" expr="_event.name"/></transition>
</state>
<state id="b">
  <transition event="bar" cond="` + xmlAttr(`_event.data.p.documentElement.tagName === 'r' && _event.data.p !== x && _event.data.n === 't' && _event.data.e.documentElement.getAttribute('title') === 't'`) + `" target="c"/>
  <transition event="*" target="fail"><log label="diag" expr="_event.name"/></transition>
</state>
<state id="c">
  <transition event="baz" cond="` + xmlAttr(`_event.data.d.documentElement.getElementsByTagName('book')[0].getAttribute('title') === 't' && _event.data.l.length === 1 && _event.data.l[0].nodeType === 9`) + `" target="pass"/>
  <transition event="*" target="fail"><log label="diag" expr="_event.name"/></transition>
</state>
<final id="pass"/>
<final id="fail"/>
</scxml>`
	for _, restore := range []bool{false, true} {
		m := compileDoc(t, src)
		h := &recHost{}
		s := startSession(t, m, "ev", interp.Options{Host: h})
		for i := 0; s.Running() && i < 10; i++ {
			if restore {
				s = restoreBytes(t, m, "ev", encodeSnap(t, s), interp.Options{Host: h})
			}
			if _, err := s.Step(); err != nil {
				t.Fatal(err)
			}
		}
		if s.Final() != "pass" {
			t.Errorf("restore=%v: final %q, logs %q", restore, s.Final(), h.logs())
		}
	}
}

// TestXMLEventDataGo: outside the datamodel, XML data is *interp.XML,
// which survives persist's codec and encodes to JSON as its markup.
func TestXMLEventDataGo(t *testing.T) {
	snap := &interp.Snapshot{Version: interp.SnapshotVersion, SessionID: "g",
		External: []interp.Event{{Name: "e", Data: map[string]any{"x": &interp.XML{Source: "<a/>"}}}}}
	b, err := snapshot.Encode(snap)
	if err != nil {
		t.Fatal(err)
	}
	got, err := snapshot.Decode("g", b)
	if err != nil {
		t.Fatal(err)
	}
	x, ok := got.External[0].Data.(map[string]any)["x"].(*interp.XML)
	if !ok || x.Source != "<a/>" {
		t.Fatalf("decoded %#v", got.External[0].Data)
	}
	j, err := json.Marshal(got.External[0].Data)
	if err != nil || string(j) != `{"x":"\u003ca/\u003e"}` {
		t.Errorf("JSON %s %v", j, err)
	}
}

// TestXMLSnapshot: variables holding DOM nodes are restored as DOM nodes
// of one document (identity kept); node lists are reported.
func TestXMLSnapshot(t *testing.T) {
	data := `<data id="x">` + booksXML + `</data>
<data id="e" expr="x.getElementsByTagName('q:book')[0]"/>
<data id="a" expr="x.documentElement.attributes[2]"/>
<data id="o" expr="({first: x.getElementsByTagName('book')[0], doc: x})"/>`
	check := `e.ownerDocument === x && e === x.getElementsByTagName('q:book')[0] && e.textContent === 'a<b' && a.value === 'shelf' && a.ownerElement === x.documentElement && o.doc === x && o.first.getAttribute('title') === 'title1'`
	s, h, m := startDoc(t, domDoc(data, "", check, `"check failed"`), nil)
	r := restoreBytes(t, m, "dom", encodeSnap(t, s), interp.Options{Host: h})
	runCheck(t, r, h, "restored")
	runCheck(t, s, h, "original")

	s, _, _ = startDoc(t, domDoc(data+`<data id="lst" expr="x.documentElement.childNodes"/>`, "", "true", "''"), nil)
	_, err := s.Snapshot()
	if !errors.Is(err, interp.ErrNotRestorable) || !strings.Contains(err.Error(), "variable lst") {
		t.Errorf("snapshot with a node list: %v", err)
	}
}
