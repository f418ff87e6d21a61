//! Ctrl-C, SIGTERM and SIGHUP: recorded instead of obeyed at once, so a task can stop
//! what it started and say what state it left. Child processes in our process group get
//! the signal too and wind down themselves; helm runs in a group of its own and is
//! stopped by xtask (see `helm::Running`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Installs the handler (once per process; a second install keeps the first).
    pub fn trap() -> Self {
        let interrupt = Self::default();
        let seen = interrupt.0.clone();
        let _ = ctrlc::set_handler(move || seen.store(true, Ordering::SeqCst));
        interrupt
    }

    pub fn happened(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
