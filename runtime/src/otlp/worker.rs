//! The thread that exports: one export every interval (measured between starts), one when
//! asked ([`flush`]), a last one at [`shutdown`].
//!
//! Each export reads the families on a thread of its own, as a scrape does, and waits for it
//! until the export's deadline: a gauge function that blocks holds that reading, not the
//! exports (the next one skips the function, as scrapes do, while its call still runs).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};
use std::time::{Duration, Instant, SystemTime};

use prost::Message as _;

use crate::error::Error;
use crate::model::snapshot::FamilySnapshot;
use crate::otlp::batch::requests;
use crate::otlp::convert::{self, Context};
use crate::otlp::delta::Baselines;
use crate::otlp::proto::{KeyValue, Metric};
use crate::otlp::send::{Accepted, Client, random_u64};
use crate::otlp::stats;
use crate::otlp::{Otlp, Temporality};
use crate::state::Settings;

/// The running export, once `install()` has started it.
static WORKER: OnceLock<Handle> = OnceLock::new();

struct Handle {
    commands: Mutex<Option<mpsc::Sender<Command>>>,
    stopping: Arc<AtomicBool>,
    url: String,
    /// How long a caller of flush or shutdown may wait: an export under way, then its own.
    patience: Duration,
}

enum Command {
    Flush(mpsc::Sender<Result<(), String>>),
    Shutdown(mpsc::Sender<Result<(), String>>),
}

/// An export checked and ready, its thread not yet started.
pub(crate) struct Prepared {
    exporter: Exporter,
    commands: mpsc::Sender<Command>,
    receiver: mpsc::Receiver<Command>,
}

struct Exporter {
    client: Client,
    otlp: Otlp,
    resource: Vec<KeyValue>,
    baselines: Baselines,
    /// Exemplars observed until then were sent.
    exemplars_after: f64,
    /// The receiver asked to be sent nothing before then.
    not_before: Option<Instant>,
    /// The request of a split export the last one stopped at, to send first: a receiver slow
    /// enough to let only part of each export through still gets all of it in turn.
    resume_at: usize,
    stopping: Arc<AtomicBool>,
}

/// Checks `otlp` and builds its client, at `install()`, before anything runs.
pub(crate) fn prepare(otlp: Otlp) -> Result<Prepared, Error> {
    otlp.check()?;
    let client = Client::new(&otlp)?;
    let (commands, receiver) = mpsc::channel();
    Ok(Prepared {
        exporter: Exporter {
            client,
            resource: resource(&otlp),
            otlp,
            baselines: Baselines::default(),
            exemplars_after: 0.0,
            not_before: None,
            resume_at: 0,
            stopping: Arc::new(AtomicBool::new(false)),
        },
        commands,
        receiver,
    })
}

impl Prepared {
    /// The thread's work, to start once `install()` cannot fail any more.
    pub(crate) fn work(self, settings: &'static Settings) -> (impl FnOnce() + Send, Published) {
        let Prepared {
            mut exporter,
            commands,
            receiver,
        } = self;
        let handle = Handle {
            commands: Mutex::new(Some(commands)),
            stopping: Arc::clone(&exporter.stopping),
            url: exporter.otlp.endpoint.clone(),
            patience: exporter
                .otlp
                .export_timeout
                .saturating_mul(2)
                .saturating_add(Duration::from_secs(5)),
        };
        let work = move || exporter.run(&receiver, settings);
        (work, Published(handle))
    }
}

/// The handle to publish once the thread runs.
pub(crate) struct Published(Handle);

impl Published {
    pub(crate) fn publish(self) {
        stats::activate();
        let _ = WORKER.set(self.0);
    }
}

impl Exporter {
    fn run(&mut self, commands: &mpsc::Receiver<Command>, settings: &'static Settings) {
        let interval = self.otlp.interval;
        let mut next = Instant::now() + interval;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            match commands.recv_timeout(wait) {
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let now = Instant::now();
                    // The next export starts one interval after this one started, or, when one
                    // overran, one interval from now.
                    next = (next + interval).max(now);
                    if self.not_before.is_some_and(|not_before| now < not_before) {
                        continue;
                    }
                    let _ = self.export(settings);
                }
                Ok(Command::Flush(reply)) => {
                    let _ = reply.send(self.export(settings));
                }
                Ok(Command::Shutdown(reply)) => {
                    // The last export goes whatever a receiver asked, and may retry within its
                    // timeout: nothing comes after it.
                    self.stopping.store(false, Ordering::Relaxed);
                    let _ = reply.send(self.export(settings));
                    return;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// One export: read, convert, send; the outcome counted and, when it fails, logged.
    fn export(&mut self, settings: &'static Settings) -> Result<(), String> {
        let deadline = Instant::now() + self.otlp.export_timeout;
        let result = self.try_export(settings, deadline);
        match &result {
            Ok(None) => stats::count(stats::Result::Success),
            Ok(Some((rejected, message))) => {
                stats::count(stats::Result::Partial {
                    rejected: *rejected,
                });
                log::warn!(
                    target: "track_metrics",
                    "the OTLP receiver {} rejected {rejected} data points: {message}",
                    self.otlp.endpoint
                );
            }
            Err(reason) => {
                stats::count(stats::Result::Failed);
                log::warn!(
                    target: "track_metrics",
                    "the OTLP export to {} failed: {reason}",
                    self.otlp.endpoint
                );
            }
        }
        result.map(|_| ())
    }

    /// `Ok(None)` when all was accepted, `Ok(Some((rejected, message)))` for a partial success.
    fn try_export(
        &mut self,
        settings: &'static Settings,
        deadline: Instant,
    ) -> Result<Option<(u64, String)>, String> {
        let families = collect(settings, deadline)?;
        let collected_at = unix_seconds();
        let now_nanos = convert::nanos(collected_at);
        let mut metrics = convert::metrics(
            &families,
            &Context {
                globals: &settings.global_labels,
                installed_at: settings.installed_at,
                now_nanos,
                exemplars_after: self.exemplars_after,
                exponential: self.otlp.exponential_histograms,
            },
        );
        drop(families);
        let pending = (self.otlp.temporality == Temporality::Delta)
            .then(|| self.baselines.apply(&mut metrics, now_nanos));
        // Senders should not send empty envelopes.
        metrics.retain(|metric| metric.points() > 0);
        if metrics.is_empty() {
            return Ok(None);
        }
        let stopping = Arc::clone(&self.stopping);
        let stopping = move || stopping.load(Ordering::Relaxed);
        let mut rejected = 0_u64;
        let mut messages = Vec::new();
        let mut failure = None;
        let mut accepted: Vec<Metric> = Vec::new();
        let mut requests = requests(&self.resource, metrics, self.otlp.max_request_bytes);
        let first = self.resume_at % requests.len().max(1);
        requests.rotate_left(first);
        let count = requests.len();
        for (sent, request) in requests.into_iter().enumerate() {
            let body = request.encode_to_vec();
            match self.client.send(body, deadline, &stopping) {
                Ok(answer) => {
                    if let Accepted::Partial {
                        rejected: count,
                        message,
                    } = answer
                    {
                        rejected += count;
                        messages.push(message);
                    }
                    accepted.extend(
                        request
                            .resource_metrics
                            .into_iter()
                            .flat_map(|resource| resource.scope_metrics)
                            .flat_map(|scope| scope.metrics),
                    );
                }
                Err(error) => {
                    if let Some(not_before) = error.not_before {
                        self.not_before = Some(not_before);
                    }
                    failure = Some(error.reason);
                    // What is left goes first with the next export.
                    self.resume_at = (first + sent) % count;
                    break;
                }
            }
        }
        if let Some(pending) = pending {
            self.baselines.accept(pending, &accepted, failure.is_none());
        }
        match failure {
            Some(reason) => Err(reason),
            None => {
                self.exemplars_after = collected_at;
                self.not_before = None;
                self.resume_at = 0;
                Ok((rejected > 0 || !messages.is_empty()).then(|| (rejected, messages.join("; "))))
            }
        }
    }
}

/// The families, read on a thread of their own and waited for until `deadline`.
fn collect(settings: &'static Settings, deadline: Instant) -> Result<Vec<FamilySnapshot>, String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("track-metrics-otlp-read".to_owned())
        .spawn(move || {
            let _ = sender.send(crate::scrape::families(settings).unwrap_or_default());
        })
        .map_err(|error| format!("cannot start the thread that reads the metrics: {error}"))?;
    receiver
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .map_err(|_| {
            "reading the metrics took longer than the export timeout (a gauge function that \
             blocks?): this export is skipped, the next one leaves that function out while it \
             runs"
                .to_owned()
        })
}

fn unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// The resource: `service.name` and `service.instance.id` first, then the other attributes.
fn resource(otlp: &Otlp) -> Vec<KeyValue> {
    let given = |key: &str| {
        otlp.resource
            .iter()
            .find(|(existing, _)| existing == key)
            .map(|(_, value)| value.clone())
    };
    let service = otlp
        .service_name
        .clone()
        .or_else(|| given("service.name"))
        .unwrap_or_else(|| {
            match std::env::current_exe()
                .ok()
                .and_then(|path| Some(path.file_name()?.to_string_lossy().into_owned()))
            {
                Some(executable) => format!("unknown_service:{executable}"),
                None => "unknown_service".to_owned(),
            }
        });
    let instance = otlp
        .instance_id
        .clone()
        .or_else(|| given("service.instance.id"))
        .unwrap_or_else(random_uuid);
    let mut attributes = vec![
        KeyValue::string("service.name", service),
        KeyValue::string("service.instance.id", instance),
    ];
    attributes.extend(
        otlp.resource
            .iter()
            .filter(|(key, _)| key != "service.name" && key != "service.instance.id")
            .map(|(key, value)| KeyValue::string(key, value)),
    );
    attributes
}

/// A random (version 4) UUID for the process, as the semantic conventions recommend for
/// `service.instance.id`.
fn random_uuid() -> String {
    let bits =
        (u128::from(random_u64()) << 64 | u128::from(random_u64())) & !(0xf << 76) & !(0x3 << 62)
            | (0x4 << 76)
            | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Where the exports go, once started.
pub(crate) fn endpoint() -> Option<String> {
    WORKER.get().map(|handle| handle.url.clone())
}

/// Exports now and waits for the answer: `Ok` when there is no OTLP export.
pub(crate) fn flush() -> Result<(), Error> {
    ask(Command::Flush, false)
}

/// The last export, then the thread ends: `Ok` when there is no OTLP export, or it ended.
pub(crate) fn shutdown() -> Result<(), Error> {
    ask(Command::Shutdown, true)
}

fn ask(command: fn(mpsc::Sender<Result<(), String>>) -> Command, last: bool) -> Result<(), Error> {
    let Some(handle) = WORKER.get() else {
        return Ok(());
    };
    let failed = |reason: String| Error::Otlp {
        url: handle.url.clone(),
        reason,
    };
    let (reply, answer) = mpsc::channel();
    // Held until the answer: a second flush or shutdown waits for this one, so that a shutdown
    // returns once the last export is over, whoever asked for it.
    let mut commands = handle
        .commands
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let Some(sender) = commands.as_ref() else {
        return if last {
            Ok(())
        } else {
            Err(failed(
                "the OTLP export was shut down (`Exporter::shutdown`)".to_owned(),
            ))
        };
    };
    if last {
        // An export under way stops retrying: the last one, with newer counts, follows.
        handle.stopping.store(true, Ordering::Relaxed);
    }
    if sender.send(command(reply)).is_err() {
        return Err(failed("the OTLP export thread has ended".to_owned()));
    }
    if last {
        *commands = None;
    }
    match answer.recv_timeout(handle.patience) {
        Ok(result) => result.map_err(failed),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(failed(
            "the OTLP export thread ended without answering (it panicked: see the log)".to_owned(),
        )),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(failed(format!(
            "no answer from the OTLP export thread within {:?}",
            handle.patience
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_are_version_4_uuids() {
        let (a, b) = (random_uuid(), random_uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}
