//! The process's own figures, read from `/proc` at each scrape: CPU time, memory,
//! open file descriptors and their limit, and the start time. Elsewhere than Linux
//! nothing is reported.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

#[derive(Debug)]
pub struct ProcessCollector {
    /// Clock ticks per second, the unit of `/proc/self/stat`'s times.
    ticks: f64,
    page_bytes: f64,
}

impl ProcessCollector {
    pub fn new() -> Self {
        let (mut ticks, mut page_bytes) = (100.0, 4096.0);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            // SAFETY: sysconf only reads system constants.
            let (t, p) = unsafe {
                (
                    libc::sysconf(libc::_SC_CLK_TCK),
                    libc::sysconf(libc::_SC_PAGESIZE),
                )
            };
            if t > 0 {
                ticks = t as f64;
            }
            if p > 0 {
                page_bytes = p as f64;
            }
        }
        Self { ticks, page_bytes }
    }

    fn read(&self) -> Option<Figures> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name may hold spaces and parentheses: fields start after the last ')'.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        // Numbered as in proc(5), minus the pid and the command (fields 1 and 2).
        let cpu_ticks = field(11)? + field(12)?;
        let start_ticks = field(19)?;
        let virtual_bytes = field(20)?;
        let rss_pages = field(21)?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let btime: f64 = boot
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as i64;
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| {
                l.lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| l.split_whitespace().nth(3))
                    .and_then(|v| v.parse::<i64>().ok())
            });
        Some(Figures {
            cpu_seconds: cpu_ticks / self.ticks,
            start_time_seconds: btime + start_ticks / self.ticks,
            virtual_bytes: virtual_bytes as i64,
            resident_bytes: (rss_pages * self.page_bytes) as i64,
            open_fds,
            max_fds,
        })
    }
}

struct Figures {
    cpu_seconds: f64,
    start_time_seconds: f64,
    virtual_bytes: i64,
    resident_bytes: i64,
    open_fds: i64,
    max_fds: Option<i64>,
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(f) = self.read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(f.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                Some(f.resident_bytes),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                Some(f.virtual_bytes),
            ),
            (
                "process_open_fds",
                "Open file descriptors",
                Some(f.open_fds),
            ),
            (
                "process_max_fds",
                "The limit on open file descriptors",
                f.max_fds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let g = ConstGauge::new(v);
                g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
            }
        }
        let start = ConstGauge::new(f.start_time_seconds);
        start.encode(encoder.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds",
            None,
            start.metric_type(),
        )?)?;
        Ok(())
    }
}
