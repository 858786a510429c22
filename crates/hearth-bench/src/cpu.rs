//! The server's CPU time over a stretch of a run, read from `/proc/PID/stat` of a server
//! this tool started.
//!
//! On a machine whose cores the server shares with this tool (and with PostgreSQL), a
//! latency is mostly queueing once the cores are busy, and varies several-fold from run to
//! run. The CPU the server spent per delivery does not: it is what the server's work costs,
//! whatever waited for what. Scenarios that fan out report it beside their latencies, and
//! the comparison with the bare broadcast server is then a ratio of costs.

use serde::Serialize;
use tokio::time::Instant;

use crate::server::{Target, clock_ticks_per_second};

/// A reading taken when a stretch began; [`CpuMeter::stop`] gives the CPU spent since.
pub struct CpuMeter {
    ticks: Option<u64>,
    /// A thread measured apart: its name and its ticks when the stretch began.
    thread: Option<(&'static str, u64)>,
    began: Instant,
}

/// The server's CPU over a stretch of a run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ServerCpu {
    /// User plus system time of every thread of the server.
    pub core_seconds: f64,
    /// The stretch's length.
    pub wall_seconds: f64,
    /// One kind of thread's share of `core_seconds`, when asked for and found.
    pub thread: Option<ThreadCpu>,
}

/// The CPU of the server's threads of one name over the stretch.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ThreadCpu {
    pub name: &'static str,
    pub core_seconds: f64,
}

impl CpuMeter {
    /// Starts measuring `target`'s CPU; nothing is measured for a server this tool did not
    /// start.
    pub fn start(target: &Target) -> Self {
        Self {
            ticks: target.process.as_ref().and_then(|p| p.cpu_ticks().ok()),
            thread: None,
            began: Instant::now(),
        }
    }

    /// Like [`start`](Self::start), and measures the threads named `name` apart too (the
    /// busiest one of a scenario, such as SQLite's writer).
    pub fn start_with_thread(target: &Target, name: &'static str) -> Self {
        let thread = target
            .process
            .as_ref()
            .and_then(|p| p.thread_cpu_ticks(name).ok().flatten())
            .map(|ticks| (name, ticks));
        Self {
            thread,
            ..Self::start(target)
        }
    }

    /// The CPU `target` spent since [`start`](Self::start).
    pub fn stop(self, target: &Target) -> Option<ServerCpu> {
        let before = self.ticks?;
        let process = target.process.as_ref()?;
        let after = process.cpu_ticks().ok()?;
        // `getconf` once: it is a process of its own.
        let hz = clock_ticks_per_second() as f64;
        let seconds = |ticks: u64| ticks as f64 / hz;
        let thread = self.thread.and_then(|(name, before)| {
            let after = process.thread_cpu_ticks(name).ok().flatten()?;
            Some(ThreadCpu {
                name,
                core_seconds: seconds(after.saturating_sub(before)),
            })
        });
        Some(ServerCpu {
            core_seconds: seconds(after.saturating_sub(before)),
            wall_seconds: self.began.elapsed().as_secs_f64(),
            thread,
        })
    }
}

impl ServerCpu {
    /// Cores kept busy on average.
    pub fn cores(&self) -> f64 {
        self.cores_of(self.core_seconds)
    }

    /// Cores that `core_seconds` kept busy on average over the stretch.
    fn cores_of(&self, core_seconds: f64) -> f64 {
        if self.wall_seconds > 0.0 {
            core_seconds / self.wall_seconds
        } else {
            0.0
        }
    }

    /// Microseconds of server CPU per delivery, when there were any.
    pub fn per_delivery_us(&self, deliveries: u64) -> Option<f64> {
        per_us(self.core_seconds, deliveries)
    }

    /// `server CPU: 21.6 core-seconds over 21.3 s (1.01 cores), 60.1 µs per delivery`.
    pub fn line(&self, deliveries: u64) -> String {
        self.line_per(deliveries, "delivery")
    }

    /// [`line`](Self::line) with another unit of work (`post`), and the measured thread's
    /// share: `..., 61.0 µs per post; thread sqlite-writer 0.34 cores, 33.0 µs per post`.
    pub fn line_per(&self, count: u64, unit: &str) -> String {
        let per = |core_seconds| {
            per_us(core_seconds, count)
                .map_or(String::new(), |us| format!(", {us:.1} µs per {unit}"))
        };
        let mut line = format!(
            "server CPU: {:.1} core-seconds over {:.1} s ({:.2} cores){}",
            self.core_seconds,
            self.wall_seconds,
            self.cores(),
            per(self.core_seconds)
        );
        if let Some(thread) = &self.thread {
            line.push_str(&format!(
                "; thread {} {:.2} cores{}",
                thread.name,
                self.cores_of(thread.core_seconds),
                per(thread.core_seconds)
            ));
        }
        line
    }
}

/// Microseconds of `core_seconds` per unit of work, when there was any.
fn per_us(core_seconds: f64, count: u64) -> Option<f64> {
    (count > 0).then(|| core_seconds * 1e6 / count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_per_delivery_is_cpu_over_deliveries() {
        let mut cpu = ServerCpu {
            core_seconds: 18.0,
            wall_seconds: 20.0,
            thread: None,
        };
        assert_eq!(cpu.per_delivery_us(360_000), Some(50.0));
        assert_eq!(cpu.per_delivery_us(0), None);
        assert!((cpu.cores() - 0.9).abs() < 1e-9);
        assert_eq!(
            cpu.line(360_000),
            "server CPU: 18.0 core-seconds over 20.0 s (0.90 cores), 50.0 µs per delivery"
        );
        cpu.thread = Some(ThreadCpu {
            name: "sqlite-writer",
            core_seconds: 6.0,
        });
        assert_eq!(
            cpu.line_per(200_000, "post"),
            "server CPU: 18.0 core-seconds over 20.0 s (0.90 cores), 90.0 µs per post; \
             thread sqlite-writer 0.30 cores, 30.0 µs per post"
        );
    }
}
