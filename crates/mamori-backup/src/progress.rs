//! Progress of long repository work (進捗表示): the caller installs a [`ProgressSink`] once (the CLI: bars on a
//! terminal); every repository the engine opens afterwards reports through it — bytes backed up, packs
//! checked, files restored. Without a sink nothing is shown.

use std::sync::{Arc, RwLock};

use rustic_core::{Progress, ProgressBars, ProgressType, RusticProgress};

/// What a phase counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressKind {
    /// No length, only a title and an end.
    Spinner,
    /// Items (packs, files, snapshots).
    Counter,
    /// Bytes.
    Bytes,
}

/// One running phase: the engine sets its length, advances it and finishes it.
pub trait ProgressHandle: Send + Sync + std::fmt::Debug + 'static {
    fn set_length(&self, len: u64);
    fn set_title(&self, title: &str);
    fn inc(&self, n: u64);
    fn finish(&self);
}

/// Starts phases (e.g. an indicatif bar each).
pub trait ProgressSink: Send + Sync + std::fmt::Debug + 'static {
    fn start(&self, kind: ProgressKind, title: &str) -> Box<dyn ProgressHandle>;
}

static SINK: RwLock<Option<Arc<dyn ProgressSink>>> = RwLock::new(None);

/// Installs the sink for every repository opened from now on in this process.
pub fn set_progress_sink(sink: Arc<dyn ProgressSink>) {
    if let Ok(mut s) = SINK.write() {
        *s = Some(sink);
    }
}

pub(crate) fn current() -> Option<Bars> {
    SINK.read().ok().and_then(|s| s.clone()).map(Bars)
}

/// The sink as rustic's progress bars.
#[derive(Clone, Debug)]
pub(crate) struct Bars(Arc<dyn ProgressSink>);

#[derive(Debug)]
struct Handle(Box<dyn ProgressHandle>);

impl RusticProgress for Handle {
    fn is_hidden(&self) -> bool {
        false
    }
    fn set_length(&self, len: u64) {
        self.0.set_length(len);
    }
    fn set_title(&self, title: &str) {
        self.0.set_title(title);
    }
    fn inc(&self, inc: u64) {
        self.0.inc(inc);
    }
    fn finish(&self) {
        self.0.finish();
    }
}

impl ProgressBars for Bars {
    fn progress(&self, progress_type: ProgressType, prefix: &str) -> Progress {
        let kind = match progress_type {
            ProgressType::Spinner => ProgressKind::Spinner,
            ProgressType::Counter => ProgressKind::Counter,
            ProgressType::Bytes => ProgressKind::Bytes,
        };
        Progress::new(Handle(self.0.start(kind, prefix)))
    }
}
