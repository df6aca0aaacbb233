package engine_test

import (
	"context"
	"strings"
	"testing"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/interp"
)

// A custom action reads its element as an etree element: attributes,
// children, text and namespace.
func TestActionElementTree(t *testing.T) {
	var got string
	e, err := engine.New(engine.Options{Extensions: []*engine.Extension{{
		Name: "crm", Namespace: "urn:example:crm",
		Actions: map[string]engine.Action{"lookup": func(c *engine.ActionContext) error {
			el, err := c.ElementTree()
			if err != nil {
				return err
			}
			var parts []string
			parts = append(parts, el.Tag, el.NamespaceURI(), el.SelectAttrValue("key", "?"))
			for _, f := range el.SelectElements("field") {
				parts = append(parts, f.SelectAttrValue("name", "?")+"="+f.Text())
			}
			got = strings.Join(parts, " ")
			return nil
		}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc := mustParseHib(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:crm="urn:example:crm" initial="s">
  <state id="s"><onentry><crm:lookup key="ani"><crm:field name="tier"/><crm:field name="vip">yes</crm:field></crm:lookup></onentry></state>
</scxml>`, e)
	if _, err := e.Start(context.Background(), doc, engine.StartOptions{Type: engine.Chat}); err != nil {
		t.Fatal(err)
	}
	if want := "lookup urn:example:crm ani tier= vip=yes"; got != want {
		t.Fatalf("the action saw %q, want %q", got, want)
	}
	x := &interp.XML{Source: `<order id="7"><item>a</item></order>`}
	d, err := x.Etree()
	if err != nil || d.Root().Tag != "order" || d.Root().SelectElement("item").Text() != "a" {
		t.Fatalf("XML.Etree = %v, %v", d, err)
	}
}
