//! Prometheus metrics at `/metrics`, in the text exposition format: requests by method,
//! route template (never the raw path, which would explode the series) and status; a
//! latency histogram; requests in flight; the database pool; the attempt limits; build
//! information. Every label comes from a fixed set, so no client can add series: methods
//! outside the standard ones are `OTHER`, unmatched paths share `(unmatched)`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use salvo::prelude::*;

use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    /// Observations at or under each bound of [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
}

/// Request counters shared by the recording middleware and the `/metrics` route.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
    in_flight: AtomicI64,
    /// Requests waiting for a pooled database connection right now.
    pub db_waiters: AtomicI64,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let entry = series
            .entry((method_label(method).to_owned(), route.to_owned(), status))
            .or_default();
        entry.count += 1;
        entry.sum += seconds;
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// The exposition text; `pool` adds the database pool gauges.
    pub fn render(&self, pool: Option<&sqlx::PgPool>) -> String {
        let mut out = String::new();
        let series = self
            .series
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        family(
            &mut out,
            "http_requests_total",
            "counter",
            "Requests handled, by method, route template and status.",
        );
        for ((method, route, status), s) in &series {
            let _ = writeln!(
                out,
                "http_requests_total{{{}}} {}",
                labels(method, route, *status),
                s.count
            );
        }
        family(
            &mut out,
            "http_request_duration_seconds",
            "histogram",
            "Time to answer a request.",
        );
        for ((method, route, status), s) in &series {
            let labels = labels(method, route, *status);
            for (count, bound) in s.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        gauge(
            &mut out,
            "http_requests_in_flight",
            "Requests being handled now.",
            self.in_flight.load(Ordering::SeqCst),
        );
        if let Some(pool) = pool {
            let size = pool.size();
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            family(
                &mut out,
                "db_pool_connections",
                "gauge",
                "Database connections by state.",
            );
            let _ = writeln!(out, "db_pool_connections{{state=\"idle\"}} {idle}");
            let _ = writeln!(
                out,
                "db_pool_connections{{state=\"in_use\"}} {}",
                size.saturating_sub(idle)
            );
            gauge(
                &mut out,
                "db_pool_max_connections",
                "The most connections the pool opens.",
                pool.options().get_max_connections(),
            );
            gauge(
                &mut out,
                "db_pool_waiters",
                "Requests waiting for a database connection right now.",
                self.db_waiters.load(Ordering::SeqCst).max(0),
            );
        }
        family(&mut out, "app_build_info", "gauge", "The running build.");
        let _ = writeln!(
            out,
            "app_build_info{{version=\"{}\",revision=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            option_env!("GIT_REVISION").unwrap_or("unknown")
        );
        out
    }
}

/// The method label: one of the standard methods, or `OTHER` (any token is a valid
/// method on the wire, and each would otherwise be a series of its own).
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("OTHER")
}

/// The `# HELP` and `# TYPE` lines of a metric family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A family with one unlabelled sample.
pub fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// A counter family with one unlabelled sample.
pub fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    family(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

fn labels(method: &str, route: &str, status: u16) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{status}\"",
        escape(method),
        escape(route)
    )
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The route template of a handled request, e.g. `/api/v1/users/{id}`.
pub fn route_of(req: &Request, status: u16) -> String {
    match req.matched_path() {
        "" if status == 404 || status == 405 => "(unmatched)".to_owned(),
        path => format!("/{path}"),
    }
}

/// Middleware: counts and times every request.
pub struct RecordMetrics(pub std::sync::Arc<Metrics>);

#[async_trait]
impl Handler for RecordMetrics {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        self.0.in_flight.fetch_add(1, Ordering::SeqCst);
        let started = Instant::now();
        ctrl.call_next(req, depot, res).await;
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        let status = res.status_code.unwrap_or(StatusCode::NOT_FOUND).as_u16();
        self.0.observe(
            req.method().as_str(),
            &route_of(req, status),
            status,
            started.elapsed().as_secs_f64(),
        );
    }
}

/// Prometheus metrics (text exposition format).
#[salvo::oapi::endpoint(tags("meta"), responses((status_code = 200, description = "Prometheus text", content_type = "text/plain")), status_codes(200))]
pub async fn serve_metrics(
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), crate::error::ApiError> {
    let state = AppState::from_depot(depot)?;
    let mut text = state.metrics.render(Some(&state.pool));
    state.limiter.render_metrics(&mut text);
    res.render(Text::Plain(text));
    res.headers_mut().insert(
        salvo::http::header::CONTENT_TYPE,
        salvo::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_series() {
        let recorded = Metrics::default();
        for i in 0..100 {
            recorded.observe(
                &format!("X{i}{}", "A".repeat(4000)),
                "(unmatched)",
                405,
                0.001,
            );
        }
        recorded.observe("GET", "(unmatched)", 404, 0.001);
        let series = recorded.series.lock().unwrap();
        assert_eq!(series.len(), 2, "{:?}", series.keys().collect::<Vec<_>>());
        assert!(series.contains_key(&("OTHER".to_owned(), "(unmatched)".to_owned(), 405)));
    }

    #[test]
    fn counts_and_buckets_accumulate_per_series() {
        let recorded = Metrics::default();
        recorded.observe("GET", "/api/v1/users/{id}", 200, 0.003);
        recorded.observe("GET", "/api/v1/users/{id}", 200, 0.3);
        let text = recorded.render(None);
        let labels = "method=\"GET\",route=\"/api/v1/users/{id}\",status=\"200\"";
        assert!(
            text.contains(&format!("http_requests_total{{{labels}}} 2")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "http_request_duration_seconds_bucket{{{labels},le=\"0.5\"}} 2"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 2"
            )),
            "{text}"
        );
        assert!(text.contains("app_build_info{version=\"0.1.0\""), "{text}");
    }
}
