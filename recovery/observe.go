package recovery

import engine "github.com/orsgo/engine"

// observe tells e's Observer and Logger of the recovery r reports
// (engine.Observer.Recovery), so that metrics count recoveries without
// the embedder passing each Report on; err is the error Recover returns.
func (r *Report) observe(e *engine.Engine, err error) {
	e.ObserveRecovery(engine.RecoveryInfo{
		Node: r.Node, Epoch: r.Epoch, Lazy: r.Lazy, Listed: r.Listed,
		Resumed: r.Resumed, Failed: len(r.Failed), NotRecovered: len(r.NotRecovered),
		Elapsed: r.Elapsed, Err: err,
	})
}
