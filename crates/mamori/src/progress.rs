//! Progress of long work: a bar on a terminal, plain lines otherwise (logs, cron, tests).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    last_line: usize,
}

impl Progress {
    pub fn new(label: &str, total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, 残り {eta})")
                    .expect("template")
                    .progress_chars("=> "),
            );
            b.set_message(label.to_string());
            b
        });
        Self { bar, label: label.to_string(), last_line: 0 }
    }

    pub fn set(&mut self, done: usize, total: usize) {
        match &self.bar {
            Some(b) => b.set_position(done as u64),
            None => {
                // A line per ~10% keeps logs short; the first batch is always reported.
                if self.last_line == 0 || done - self.last_line >= total / 10 || done == total {
                    eprintln!("{} {done}/{total}", self.label);
                    self.last_line = done.max(1);
                }
            }
        }
    }

    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}
