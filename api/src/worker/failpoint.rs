//! A test hook: with `API_WORKER_EXIT_AT=<point>`, a debug build of the worker exits at
//! once (as a killed process would, with nothing flushed or acknowledged) when it reaches
//! that point. The crash tests use it to stop the worker exactly between publishing and
//! the broker's confirm, or between writing notifications and acknowledging the delivery.
//! Release builds (the image) leave it out.

/// Exits with status 137 (as after SIGKILL) when `API_WORKER_EXIT_AT` names `point`.
#[cfg(debug_assertions)]
pub fn exit_at(point: &str) {
    // Read here rather than in `Config`: a test hook, absent from release builds.
    if std::env::var("API_WORKER_EXIT_AT").is_ok_and(|wanted| wanted == point) {
        eprintln!("api worker: exiting at {point} (API_WORKER_EXIT_AT)");
        std::process::exit(137);
    }
}

#[cfg(not(debug_assertions))]
pub fn exit_at(_point: &str) {}
