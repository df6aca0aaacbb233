package ids_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/orsgo/engine/ids"
)

func Example() {
	node, err := ids.ParseNodeID("ors-node-1")
	if err != nil {
		panic(err)
	}
	// A seeded source makes the ids reproducible; production code uses
	// ids.New(node) or a Generator with a nil source (crypto/rand).
	gen, err := ids.NewGenerator(node, rand.NewChaCha8([32]byte{}))
	if err != nil {
		panic(err)
	}
	id, err := gen.New()
	if err != nil {
		panic(err)
	}
	fmt.Println(id)

	back, err := ids.Parse(id.String())
	fmt.Println(back.Node(), back == id, err)

	noNode, _ := ids.Parse("6BA7B8109DAD41D180B400C04FD430C8")
	fmt.Printf("%q\n", noNode.Node())

	_, err = ids.Parse("6ba7b810-9dad-41d1-80b4-00c04fd430c8")
	fmt.Println(err)
	// Output:
	// D9877ECE6D364AAC9A6F419EC627C76B-ors-node-1
	// ors-node-1 true <nil>
	// ""
	// ids: invalid session id "6ba7b810-9dad-41d1-80b4-00c04fd430c8": UUID with dashes; want 32 upper-case hex digits, optionally followed by "-" and a node id
}
