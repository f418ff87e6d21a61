//! Logs: one JSON object per line on stdout (what log collectors expect from a pod), or
//! readable text for local work (`LOG_FORMAT=text`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

pub fn init(settings: &LogSettings) {
    // The filter was validated with the rest of the configuration.
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    let result = match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            // `span.request_id` on every line written while a request is handled.
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder
            .compact()
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
    };
    // A subscriber already installed (by a test harness) is fine to keep.
    drop(result);
}
