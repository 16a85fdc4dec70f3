//! Small measuring helpers shared by the scenarios.

/// Resident memory of a process in KiB (`VmRSS` from /proc), if readable.
pub fn rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmRSS:")
}

/// Peak resident memory of a process in KiB (`VmHWM` from /proc), if readable.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmHWM:")
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The `p`th percentile of sorted values (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Which cargo profile built the binaries this benchmark runs (the folder they sit in:
/// `production`, `release`, …), for the report.
pub fn build_profile() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.file_name()?.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown".into())
}

/// CPU time (user + system, seconds) used so far by every process on the machine, summed by
/// process name (`postgres`, `redis-server`, `longshore-api`, …). The difference of two
/// readings says where a run's CPU went; on a shared, noisy machine CPU per unit of work is
/// steadier than throughput.
pub fn cpu_by_process() -> std::collections::BTreeMap<String, f64> {
    let mut by_name = std::collections::BTreeMap::new();
    // Linux reports these in clock ticks of 1/100 s (USER_HZ) on every architecture.
    let ticks = 100.0;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return by_name;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: comm may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_owned();
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // After comm: state(0) … utime(11) stime(12).
        let (Some(u), Some(s)) = (fields.get(11), fields.get(12)) else {
            continue;
        };
        let (Ok(u), Ok(s)) = (u.parse::<f64>(), s.parse::<f64>()) else {
            continue;
        };
        *by_name.entry(comm).or_insert(0.0) += (u + s) / ticks;
    }
    by_name
}

/// Milliseconds of CPU per unit of work between two [`cpu_by_process`] readings, for the
/// processes that used any, with a `total`.
pub fn cpu_ms_per_unit(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
    units: usize,
) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let mut total = 0.0;
    for (name, secs) in after {
        let used = secs - before.get(name).copied().unwrap_or(0.0);
        if used > 0.05 {
            total += used;
            out.insert(name.clone(), ms_per_unit(used, units));
        }
    }
    out.insert("total".into(), ms_per_unit(total, units));
    serde_json::Value::Object(out)
}

/// `secs` of CPU as milliseconds per unit, to the microsecond.
fn ms_per_unit(secs: f64, units: usize) -> serde_json::Value {
    let ms = secs * 1000.0 / units.max(1) as f64;
    serde_json::json!((ms * 1000.0).round() / 1000.0)
}

/// Which deployments a scenario runs on (`--mode`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Deployments {
    Embedded,
    Production,
    Both,
}

impl Deployments {
    /// The stacks to start, in order.
    pub fn modes(self) -> Vec<longshore_tests::Mode> {
        use longshore_tests::Mode;
        match self {
            Deployments::Embedded => vec![Mode::Embedded],
            Deployments::Production => vec![Mode::Production],
            Deployments::Both => vec![Mode::Embedded, Mode::Production],
        }
    }
}

/// How a report names a deployment.
pub fn deployment_name(mode: longshore_tests::Mode) -> &'static str {
    match mode {
        longshore_tests::Mode::Embedded => "embedded sqlite",
        longshore_tests::Mode::Production => "postgres + redis on loopback",
    }
}
