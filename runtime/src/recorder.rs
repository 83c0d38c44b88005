//! The recorder installed as the `metrics` global recorder: the Prometheus exporter's recorder,
//! behind a layer that makes its escaping exact.
//!
//! metrics-exporter-prometheus 0.18 escapes label values and HELP text with a state machine that
//! guesses whether a backslash is already an escape: `a\\b` comes out as `a\\b` (one backslash
//! when parsed) and `\"` loses its backslash. The exporter never changes the two Unicode
//! noncharacters used here, so every backslash is handed to it as [`BACKSLASH`] and turned into
//! a correct `\\` after rendering, in [`crate::exposition`]. A real noncharacter in the input is
//! protected with [`LITERAL`], so the mapping stays reversible for any string.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit,
};
use metrics_exporter_prometheus::{PrometheusHandle, PrometheusRecorder};

/// Stands for one backslash of the original text.
pub(crate) const BACKSLASH: char = '\u{FDD0}';
/// Says the next character is itself, not a stand-in.
pub(crate) const LITERAL: char = '\u{FDD1}';

fn needs_encoding(text: &str) -> bool {
    text.contains(['\\', BACKSLASH, LITERAL])
}

/// Maps `text` to what the exporter may escape without loss.
pub(crate) fn encode(text: &str) -> Cow<'_, str> {
    if !needs_encoding(text) {
        return Cow::Borrowed(text);
    }
    let mut encoded = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => encoded.push(BACKSLASH),
            BACKSLASH | LITERAL => {
                encoded.push(LITERAL);
                encoded.push(c);
            }
            c => encoded.push(c),
        }
    }
    Cow::Owned(encoded)
}

fn encode_shared(text: SharedString) -> SharedString {
    match encode(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(encoded) => SharedString::from(encoded),
    }
}

/// The key with every label value encoded; borrowed when nothing needs it, as almost always.
fn encode_key(key: &Key) -> Cow<'_, Key> {
    if !key.labels().any(|label| needs_encoding(label.value())) {
        return Cow::Borrowed(key);
    }
    let labels: Vec<Label> = key
        .labels()
        .map(|label| Label::new(label.key().to_owned(), encode(label.value()).into_owned()))
        .collect();
    Cow::Owned(Key::from_parts(key.name().to_owned(), labels))
}

/// The exporter's recorder, with exact escaping, that keeps the `metrics` facade off the names
/// of the families declared with `metrics!`.
pub(crate) struct TrackRecorder {
    inner: PrometheusRecorder,
    reserved: HashSet<String>,
    warned: AtomicBool,
}

impl TrackRecorder {
    pub(crate) fn new(inner: PrometheusRecorder, reserved: HashSet<String>) -> Self {
        TrackRecorder {
            inner,
            reserved,
            warned: AtomicBool::new(false),
        }
    }

    /// Whether `name` belongs to a declared family, warning the first time.
    fn is_reserved(&self, name: &str) -> bool {
        let reserved = self.reserved.contains(name);
        if reserved && !self.warned.swap(true, Ordering::Relaxed) {
            log::warn!(
                "`{name}` is the name of a metric declared with `metrics!`: the `metrics` macro \
                 call that uses it records nothing, since two families cannot share a name"
            );
        }
        reserved
    }

    pub(crate) fn handle(&self) -> PrometheusHandle {
        self.inner.handle()
    }
}

impl Recorder for TrackRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if self.is_reserved(key.as_str()) {
            return;
        }
        self.inner
            .describe_counter(key, unit, encode_shared(description));
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if self.is_reserved(key.as_str()) {
            return;
        }
        self.inner
            .describe_gauge(key, unit, encode_shared(description));
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if self.is_reserved(key.as_str()) {
            return;
        }
        self.inner
            .describe_histogram(key, unit, encode_shared(description));
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        if self.is_reserved(key.name()) {
            return Counter::noop();
        }
        self.inner.register_counter(&encode_key(key), metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        if self.is_reserved(key.name()) {
            return Gauge::noop();
        }
        self.inner.register_gauge(&encode_key(key), metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        if self.is_reserved(key.name()) {
            return Histogram::noop();
        }
        self.inner.register_histogram(&encode_key(key), metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(encode("GET /users \"x\"\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn backslashes_and_stand_ins_are_encoded() {
        assert_eq!(encode(r"a\b"), format!("a{BACKSLASH}b"));
        assert_eq!(encode("\u{FDD0}"), format!("{LITERAL}{BACKSLASH}"));
        assert_eq!(encode("\u{FDD1}"), format!("{LITERAL}{LITERAL}"));
    }
}
