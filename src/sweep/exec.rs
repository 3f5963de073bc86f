//! Parallel execution: (design point × replicate) flattened into one rayon iterator, one ECS
//! world per run, each finished run appended to the journal at once.
//!
//! A run is a pure function of its run id: its `--set` list (the point's values and its seed,
//! [`run_seed`]) applied to the base scenario parsed once. A run whose
//! values fail validation, whose systems panic, or whose kept outcomes are not finite becomes a
//! `fail` journal line with a one-line message; the sweep goes on. Panics are caught per run with
//! `catch_unwind`; a process-wide panic hook (installed once) keeps a caught panic's location for
//! the message instead of printing it, and leaves every other panic to the previous hook.

use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::SweepError;
use super::journal::{self, JournalWriter};
use super::outcome;
use super::spec::{Plan, Seeds, one_line};
use crate::sim::rng::derive_seed;

/// The seed of a run: with common random numbers (the default) `derive_seed(sweep seed,
/// replicate)`, the same at every design point; with `seeds: independent`, `derive_seed(sweep
/// seed, run id)`.
pub fn run_seed(plan: &Plan, run_id: u64) -> u64 {
    match plan.file.seeds {
        Seeds::Common => derive_seed(plan.file.seed, plan.locate(run_id).1),
        Seeds::Independent => derive_seed(plan.file.seed, run_id),
    }
}

/// Run one run and return its journal line.
pub fn execute_run(plan: &Plan, run_id: u64) -> String {
    let (point, _) = plan.locate(run_id);
    let sets = plan.point_sets(point);
    let outcome = catch_panic(|| {
        let loaded = plan
            .base
            .load(&sets)
            .map_err(|e| format!("invalid parameters: {}", one_line(&e)))?;
        // The seed is set on the validated scenario, not by `--set`: a derived seed uses all
        // 64 bits, and RON integers above i64::MAX do not survive the text round trip.
        let scenario = loaded.scenario.with_seed(run_seed(plan, run_id));
        // The non-finite guard stops a run at the first NaN or infinity and names it.
        // Only the metric rows an outcome reads are kept; the rest are dropped step by step.
        let outcomes = &plan.file.outcomes;
        let result = crate::sim::try_run_keeping(scenario.resolved(), |row| {
            outcomes.iter().any(|o| o.metric == row.metric)
        })
        .map_err(|e| e.to_string())?;
        outcome::extract(&plan.file.outcomes, &result)
    });
    match outcome {
        Ok(Ok(values)) => journal::ok_line(run_id, &values),
        Ok(Err(message)) => journal::fail_line(run_id, &message),
        Err(panic) => journal::fail_line(run_id, &format!("panic: {panic}")),
    }
}

thread_local! {
    /// Whether this thread is inside [`catch_panic`].
    static IN_RUN: Cell<bool> = const { Cell::new(false) };
    /// Location of the last caught panic on this thread.
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Run `f`, turning a panic into its message (with the source location).
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_RUN.with(Cell::get) {
                let at = info.location().map(|l| l.to_string());
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
    IN_RUN.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    IN_RUN.with(|c| c.set(false));
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string());
        match PANIC_AT.with(|p| p.borrow_mut().take()) {
            Some(at) => format!("{message} (at {at})"),
            None => message,
        }
    })
}

/// Run `run_ids` on `jobs` threads (all cores when `None`), appending each run's line to the
/// journal as it finishes. Returns how many runs were executed. After Ctrl-C
/// ([`crate::interrupt::requested`]) the remaining runs are skipped, not executed.
pub fn execute(
    plan: &Plan,
    run_ids: impl ParallelIterator<Item = u64>,
    todo: u64,
    jobs: Option<usize>,
    journal: JournalWriter,
) -> Result<u64, SweepError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|e| SweepError::Internal(format!("cannot start worker threads: {e}")))?;
    let progress = Progress::new(todo, std::io::stderr().is_terminal());
    let state = Mutex::new((journal, progress));
    pool.install(|| {
        run_ids.try_for_each(|run_id| {
            // After Ctrl-C no new run starts; the runs in flight finish and are journaled.
            if crate::interrupt::requested() {
                return Ok(());
            }
            let line = execute_run(plan, run_id);
            let mut guard = state
                .lock()
                .map_err(|_| SweepError::Internal("a journal writer panicked".into()))?;
            let (journal, progress) = &mut *guard;
            journal.append(&line).map_err(|e| {
                SweepError::Internal(format!(
                    "cannot append to `{}`: {e}",
                    journal.path().display()
                ))
            })?;
            progress.tick();
            Ok::<(), SweepError>(())
        })
    })?;
    let (mut journal, progress) = state
        .into_inner()
        .map_err(|_| SweepError::Internal("a journal writer panicked".into()))?;
    progress.finish();
    journal
        .sync()
        .map_err(|e| SweepError::Internal(format!("cannot sync the journal: {e}")))?;
    Ok(progress.done)
}

/// A progress line on stderr (runs done, runs/s, ETA), drawn only when stderr is a terminal and
/// at most ten times a second.
#[derive(Debug)]
struct Progress {
    enabled: bool,
    total: u64,
    done: u64,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    fn new(total: u64, enabled: bool) -> Self {
        Progress {
            enabled: enabled && total > 0,
            total,
            done: 0,
            started: Instant::now(),
            drawn: None,
        }
    }

    fn tick(&mut self) {
        self.done += 1;
        let due = self
            .drawn
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        if self.enabled && (due || self.done == self.total) {
            self.draw();
        }
    }

    fn draw(&mut self) {
        self.drawn = Some(Instant::now());
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = self.done as f64 / secs;
        let eta = (self.total - self.done) as f64 / rate.max(1e-9);
        let width = 30;
        let filled = (self.done * width / self.total.max(1)) as usize;
        let bar: String = "#".repeat(filled) + &"-".repeat(width as usize - filled);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{bar}] {}/{} runs  {rate:.1} runs/s  ETA {}:{:02}   ",
            self.done,
            self.total,
            (eta as u64) / 60,
            (eta as u64) % 60
        );
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.enabled {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_message_with_its_location() {
        let err = catch_panic(|| -> u32 { panic!("boom {}", 7) }).expect_err("panics");
        assert!(err.starts_with("boom 7 (at src/sweep/exec.rs:"), "{err}");
        assert_eq!(catch_panic(|| 3), Ok(3));
    }
}
