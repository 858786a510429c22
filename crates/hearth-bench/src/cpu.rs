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
    began: Instant,
}

/// The server's CPU over a stretch of a run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ServerCpu {
    /// User plus system time of every thread of the server.
    pub core_seconds: f64,
    /// The stretch's length.
    pub wall_seconds: f64,
}

impl CpuMeter {
    /// Starts measuring `target`'s CPU; nothing is measured for a server this tool did not
    /// start.
    pub fn start(target: &Target) -> Self {
        Self {
            ticks: target.process.as_ref().and_then(|p| p.cpu_ticks().ok()),
            began: Instant::now(),
        }
    }

    /// The CPU `target` spent since [`start`](Self::start).
    pub fn stop(self, target: &Target) -> Option<ServerCpu> {
        let before = self.ticks?;
        let after = target.process.as_ref()?.cpu_ticks().ok()?;
        Some(ServerCpu {
            core_seconds: after.saturating_sub(before) as f64 / clock_ticks_per_second() as f64,
            wall_seconds: self.began.elapsed().as_secs_f64(),
        })
    }
}

impl ServerCpu {
    /// Cores kept busy on average.
    pub fn cores(&self) -> f64 {
        if self.wall_seconds > 0.0 {
            self.core_seconds / self.wall_seconds
        } else {
            0.0
        }
    }

    /// Microseconds of server CPU per delivery, when there were any.
    pub fn per_delivery_us(&self, deliveries: u64) -> Option<f64> {
        (deliveries > 0).then(|| self.core_seconds * 1e6 / deliveries as f64)
    }

    /// `server CPU: 21.6 core-seconds over 21.3 s (1.01 cores), 60.1 µs per delivery`.
    pub fn line(&self, deliveries: u64) -> String {
        let per = self
            .per_delivery_us(deliveries)
            .map_or(String::new(), |us| format!(", {us:.1} µs per delivery"));
        format!(
            "server CPU: {:.1} core-seconds over {:.1} s ({:.2} cores){per}",
            self.core_seconds,
            self.wall_seconds,
            self.cores()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_per_delivery_is_cpu_over_deliveries() {
        let cpu = ServerCpu {
            core_seconds: 18.0,
            wall_seconds: 20.0,
        };
        assert_eq!(cpu.per_delivery_us(360_000), Some(50.0));
        assert_eq!(cpu.per_delivery_us(0), None);
        assert!((cpu.cores() - 0.9).abs() < 1e-9);
        assert_eq!(
            cpu.line(360_000),
            "server CPU: 18.0 core-seconds over 20.0 s (0.90 cores), 50.0 µs per delivery"
        );
    }
}
