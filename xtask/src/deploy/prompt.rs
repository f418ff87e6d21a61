//! The typed confirmation a protected environment asks for, abandoned by Ctrl-C.

use std::io::IsTerminal;
use std::sync::mpsc;
use std::time::Duration;

use super::preflight::Confirmation;
use crate::interrupt::Interrupt;
use crate::overlay::Overlay;

/// Asks for the environment's name on a terminal before changing a protected
/// environment (`action` says what will happen); `--yes` answers for CI. The answer is
/// read on a thread of its own, so that a Ctrl-C at the prompt abandons it at once.
pub fn confirm(overlay: &Overlay, yes: bool, action: &str, interrupt: &Interrupt) -> Confirmation {
    if yes || !overlay.settings.protected {
        return Confirmation::Given;
    }
    if !std::io::stdin().is_terminal() {
        return Confirmation::Impossible;
    }
    eprintln!(
        "      {} is protected. {action} in context {}? Type '{}' to confirm:",
        overlay.env, overlay.settings.kube_context, overlay.env
    );
    let (answer_tx, answer_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut answer = String::new();
        let read = std::io::stdin().read_line(&mut answer);
        let _ = answer_tx.send(read.map(|_| answer));
    });
    loop {
        match answer_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(answer)) => return Confirmation::Typed(answer),
            Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Confirmation::Impossible;
            }
            Err(mpsc::RecvTimeoutError::Timeout) if interrupt.happened() => {
                return Confirmation::Abandoned;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}
