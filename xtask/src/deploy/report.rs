//! Human output of a deploy on stderr: a line per step, progress that updates in place
//! on a terminal and prints plain lines (only when something changed) in CI.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Reporter {
    tty: bool,
    last_progress: Option<String>,
    last_printed: Instant,
}

impl Reporter {
    pub fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            last_progress: None,
            last_printed: Instant::now(),
        }
    }

    pub fn step(&mut self, step: super::step::Step, text: &str) {
        self.end_progress();
        eprintln!("[{}/{}] {text}", step.number(), super::step::Step::COUNT);
    }

    pub fn line(&mut self, text: &str) {
        self.end_progress();
        for line in text.lines() {
            eprintln!("      {line}");
        }
    }

    /// A status that replaces the previous one on a terminal; in CI it is printed when it
    /// changes, or every 30 s so a quiet wait still shows signs of life.
    pub fn progress(&mut self, text: String) {
        if self.tty {
            eprint!("\r\x1b[2K      {text}");
            let _ = std::io::stderr().flush();
            self.last_progress = Some(text);
        } else if self.last_progress.as_deref() != Some(text.as_str())
            || self.last_printed.elapsed() > Duration::from_secs(30)
        {
            eprintln!("      {text}");
            self.last_progress = Some(text);
            self.last_printed = Instant::now();
        }
    }

    fn end_progress(&mut self) {
        if self.tty && self.last_progress.take().is_some() {
            eprintln!();
        }
    }
}
