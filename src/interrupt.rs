//! Ctrl-C (SIGINT), SIGTERM and SIGHUP: stop without losing results and without leaving debris.
//!
//! Runs and sweeps last hours, and a user who presses Ctrl-C expects to keep what is done. The
//! same holds when Slurm preempts or cancels a job (SIGTERM, then SIGKILL after `KillWait`), when
//! `kill` or a service manager stops the process (SIGTERM), and when the terminal closes (SIGHUP):
//! ctrlc's `termination` feature routes all three signals to one process-wide handler
//! ([`install`]), which decides what an interrupt means (below, "Ctrl-C" is any of them):
//!
//! - while a sweep executes (inside [`Graceful`]), the first Ctrl-C only raises a flag
//!   ([`requested`]): the sweep stops dispatching runs, lets the runs in flight finish and
//!   journal, writes its manifest as incomplete and exits with [`EXIT_INTERRUPTED`] and the
//!   command that resumes it. A second Ctrl-C stops at once (the journal tolerates a torn last
//!   line, as after a kill).
//! - otherwise (a single run, figures, a sweep's final tables), the handler removes every staging
//!   folder still open ([`crate::output::folder::remove_open_staging`]) and exits with
//!   [`EXIT_INTERRUPTED`]: no hidden `.NAME.partial-…` folder is left behind, and an output folder
//!   being committed is either fully in place or not there.
//!
//! 130 = 128 + SIGINT is the shell's convention for a process ended by Ctrl-C; the handler cannot
//! tell the three signals apart, so SIGTERM and SIGHUP exit 130 too. Messages go to stderr with
//! errors ignored (after SIGHUP the terminal may be gone; a failed write must not panic).
//!
//! SIGKILL cannot be caught: what a killed process leaves (a staging folder, a hidden old folder
//! of a `--force` commit) is cleaned up or restored by the next command on the same output folder
//! ([`crate::output::folder::recover`]), and a sweep's journal tolerates a torn last line.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Exit code after Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Set by the first Ctrl-C inside a graceful section.
static REQUESTED: AtomicBool = AtomicBool::new(false);
/// Number of live [`Graceful`] guards.
static GRACEFUL: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();

/// Install the handler of SIGINT, SIGTERM and SIGHUP (once per process; later calls do nothing). If a handler cannot be
/// installed (another library owns SIGINT), Ctrl-C keeps its default meaning: the process ends
/// and a sweep resumes from its journal.
pub fn install() {
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(on_interrupt);
    });
}

fn on_interrupt() {
    use std::io::Write;
    if GRACEFUL.load(Ordering::SeqCst) > 0 && !REQUESTED.swap(true, Ordering::SeqCst) {
        let _ = writeln!(
            std::io::stderr(),
            "\norechain: interrupted: finishing the runs in flight, then saving the journal \
             (press Ctrl-C again to stop at once)"
        );
        return;
    }
    crate::output::folder::remove_open_staging();
    let _ = writeln!(std::io::stderr(), "\norechain: interrupted");
    std::process::exit(EXIT_INTERRUPTED);
}

/// Whether Ctrl-C asked the current graceful section to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// While alive, the first Ctrl-C raises [`requested`] instead of ending the process.
#[derive(Debug)]
pub struct Graceful(());

impl Graceful {
    /// Enter a graceful section.
    pub fn enter() -> Self {
        GRACEFUL.fetch_add(1, Ordering::SeqCst);
        Graceful(())
    }
}

impl Drop for Graceful {
    fn drop(&mut self) {
        GRACEFUL.fetch_sub(1, Ordering::SeqCst);
    }
}
