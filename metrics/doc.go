// Package metrics exports a relay's connections to Prometheus: a
// [Collector] (a prometheus.Collector) that builds its metrics from what
// a getinfo.Conns shows, at scrape time, with C tor's MetricsPort names
// where C tor has the metric, so that its operators' dashboards keep
// working, and conninfo's own families for what C tor lacks.
//
// Every value is what the Conns' tier tells any controller, aggregated:
// in the public tier the view a question asked then is answered from (its
// rounded counts, its instant; a scrape never takes a view), in the others
// a live reading. No metric has a label per connection,
// circuit, address or relay, both for Prometheus's cardinality rules and
// for privacy: a label's values are the classes of TYPE_FLAGS, the
// families of the addresses the tier shows, the detectors and severities
// of the audit. README.md lists every metric, and where and why a name
// follows tor over Prometheus's conventions.
//
// It is the one package of conninfo that imports client_golang, so that
// a relay linking the core does not build it.
//
// # Concurrency
//
// A Collector is safe for concurrent use: Prometheus's registry may
// scrape it from several goroutines at once. A scrape never stops the
// registry's counters: it reads the Conns' view.
package metrics
