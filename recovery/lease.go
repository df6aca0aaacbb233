package recovery

import (
	"context"
	"fmt"
	"time"

	"github.com/orsgo/engine/persist"
)

// Automatic failover. In lease mode (Node.RunLease) the primary of an HA
// pair renews a lease in the store (persist.Leaser) every
// LeaseOptions.Interval, for LeaseOptions.TTL; the backup checks it as
// often and, once it has lapsed, takes it and switches over (fencing the
// old primary: its later writes are refused). The detection time, from
// the primary's last renewal to the backup's switchover, is between TTL
// and TTL + Interval (plus the store's round trips). A primary that finds
// the lease taken (it was paused or cut off for longer than TTL) becomes
// a backup. Switchover by hand (an HA controller's promote) works all the
// same, lease or not.

// LeaseOptions configure Node.RunLease.
type LeaseOptions struct {
	// TTL is how long one renewal keeps the lease: the shortest time a
	// primary can be silent before its backup takes over.
	// default: DefaultLeaseTTL
	TTL time.Duration
	// Interval is how often the primary renews and the backup checks.
	// Keep it well under TTL, so that a primary does not lose the lease
	// to one slow round trip.
	// default: TTL/5
	Interval time.Duration
	// OnChange is told of each role change RunLease makes (with the
	// switchover's report and error for a promotion), and of each error
	// renewing or checking the lease (role unchanged).
	// default: nil
	OnChange func(role Role, rep *Report, err error)
}

// DefaultLeaseTTL is the default LeaseOptions.TTL.
const DefaultLeaseTTL = 5 * time.Second

// LeaseName returns the name of the lease of the HA pair of nodes a and
// b, the same from both.
func LeaseName(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + "+" + b
}

// RunLease runs lease mode for the node until ctx ends (it then returns
// ctx's error, leaving the lease to lapse): see "Automatic failover".
func (n *Node) RunLease(ctx context.Context, opts LeaseOptions) error {
	l, ok := n.e.Store().(persist.Leaser)
	if !ok {
		return fmt.Errorf("recovery: lease: store %T keeps no leases (persist.Leaser)", n.e.Store())
	}
	switch {
	case opts.TTL < 0:
		return fmt.Errorf("recovery: lease: option TTL %v: negative", opts.TTL)
	case opts.Interval < 0:
		return fmt.Errorf("recovery: lease: option Interval %v: negative", opts.Interval)
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultLeaseTTL
	}
	if opts.Interval == 0 {
		opts.Interval = opts.TTL / 5
	}
	if opts.Interval >= opts.TTL {
		return fmt.Errorf("recovery: lease: option Interval %v: not under TTL %v", opts.Interval, opts.TTL)
	}
	tell := func(r Role, rep *Report, err error) {
		if opts.OnChange != nil {
			opts.OnChange(r, rep, err)
		}
	}
	name, self := LeaseName(n.e.Node(), n.peer), n.e.Node()
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for {
		held, by, err := l.Lease(ctx, name, self, opts.TTL)
		role := n.Role()
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			tell(role, nil, err)
		case role == Primary && !held:
			n.Demote()
			tell(Backup, nil, fmt.Errorf("recovery: lease %s held by %s: %s is a backup now", name, by, self))
		case role == Backup && held:
			rep, err := n.Switchover(ctx)
			tell(Primary, rep, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
