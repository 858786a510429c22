//! `--markdown PATH`: one row of the BENCHMARKS.md table per run, appended to PATH (with
//! the table's header when the file is new): scenario, ours, baseline, ratio, machine,
//! commit and the exact command, so a published figure always says how to get it again.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::stats::LatencySummary;

const HEADER: &str = "| scenario | ours | baseline | ratio | machine | commit | command |\n\
                      | --- | --- | --- | --- | --- | --- | --- |\n";

/// The figures of one run, as they go in the table.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub scenario: String,
    pub ours: String,
    pub baseline: Option<String>,
    pub ratio: Option<String>,
}

impl Row {
    pub fn new(scenario: &str, ours: String) -> Self {
        Self {
            scenario: scenario.to_owned(),
            ours,
            ..Self::default()
        }
    }

    pub fn against(mut self, baseline: String, ratio: Option<String>) -> Self {
        self.baseline = Some(baseline);
        self.ratio = ratio;
        self
    }
}

/// `p50 …, p99 …, p99.9 …, max …` of a latency summary.
pub fn latency(l: &LatencySummary) -> String {
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        l.p50_us as f64 / 1e3,
        l.p99_us as f64 / 1e3,
        l.p999_us as f64 / 1e3,
        l.max_us as f64 / 1e3
    )
}

/// Appends `row` to `path`, writing the header first if the file is new or empty.
pub fn append(path: &Path, row: &Row, command: &str) -> anyhow::Result<()> {
    let fresh = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    if fresh {
        file.write_all(HEADER.as_bytes())?;
    }
    file.write_all(line(row, &machine(), &commit(), command).as_bytes())?;
    Ok(())
}

fn line(row: &Row, machine: &str, commit: &str, command: &str) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    format!(
        "| {} | {} | {} | {} | {} | {} | `{}` |\n",
        cell(&row.scenario),
        cell(&row.ours),
        cell(row.baseline.as_deref().unwrap_or("—")),
        cell(row.ratio.as_deref().unwrap_or("—")),
        cell(machine),
        cell(commit),
        cell(command)
    )
}

/// Cores, memory and the load average when the run ended.
fn machine() -> String {
    // All of the machine's cores, not the ones `--pin` left this process.
    let cores = std::fs::read_to_string("/proc/cpuinfo").map_or(0, |c| {
        c.lines().filter(|l| l.starts_with("processor")).count()
    });
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(String::new(), |kib| {
            format!(", {:.0} GiB", kib / 1024.0 / 1024.0)
        });
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default();
    format!("{cores} cores{mem_gib}, load {load}")
}

/// The checked-out commit of the working directory, if it is a git checkout.
fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_escapes_pipes_and_shows_missing_cells_as_dashes() {
        let row = Row::new("write", "3,358/s | ack p50 12 ms".into());
        let text = line(&row, "2 cores", "abc123", "hearth-bench write");
        assert_eq!(
            text,
            "| write | 3,358/s \\| ack p50 12 ms | — | — | 2 cores | abc123 | `hearth-bench write` |\n"
        );
    }

    #[test]
    fn the_header_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.md");
        append(&path, &Row::new("a", "1".into()), "x").unwrap();
        append(
            &path,
            &Row::new("b", "2".into()).against("3".into(), None),
            "y",
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("| scenario |").count(), 1);
        assert_eq!(text.lines().count(), 4);
        assert!(
            text.lines()
                .nth(3)
                .unwrap()
                .starts_with("| b | 2 | 3 | — |")
        );
    }
}
