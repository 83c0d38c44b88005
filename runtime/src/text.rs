//! Writing the exposition of the families `metrics!` declares, in the same encoding as the
//! exporter's text (see [`crate::recorder`]): backslashes as stand-ins, made exact by
//! [`crate::exposition::finish`] with everything else.

use std::fmt::Write as _;

use crate::recorder::{BACKSLASH, LITERAL};

/// Appends a label value: `"` and line feeds escaped, backslashes as stand-ins.
pub(crate) fn push_label_value(out: &mut String, text: &str) {
    push_escaped(out, text, true);
}

/// Appends HELP text: only backslashes and line feeds are escaped there.
pub(crate) fn push_help(out: &mut String, text: &str) {
    push_escaped(out, text, false);
}

fn push_escaped(out: &mut String, text: &str, quotes: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push(BACKSLASH),
            BACKSLASH | LITERAL => {
                out.push(LITERAL);
                out.push(c);
            }
            '"' if quotes => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: a label name, and a metric name without the colons that only
/// recording rules use.
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A float as the exposition format spells it: `+Inf`, `-Inf`, `NaN`, or the shortest decimal.
pub(crate) fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{value}");
    }
}

/// Writes the sample lines of one family, with the global labels first on every series.
#[doc(hidden)]
pub struct SampleWriter<'a> {
    pub(crate) out: &'a mut String,
    pub(crate) name: &'a str,
    pub(crate) globals: &'a [(String, String)],
}

impl SampleWriter<'_> {
    /// `HELP` and `TYPE` lines.
    pub(crate) fn header(&mut self, help: &str, kind: &str) {
        self.out.push_str("# HELP ");
        self.out.push_str(self.name);
        self.out.push(' ');
        push_help(self.out, help);
        let _ = writeln!(self.out, "\n# TYPE {} {kind}", self.name);
    }

    /// One sample: `name<suffix>{globals,labels,extra} value`.
    pub(crate) fn sample(
        &mut self,
        suffix: &str,
        labels: &[&str],
        values: &[&str],
        extra: Option<(&str, &str)>,
        value: Value,
    ) {
        self.out.push_str(self.name);
        self.out.push_str(suffix);
        let globals = self
            .globals
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()));
        let own = labels.iter().copied().zip(values.iter().copied());
        // An empty value is no label in Prometheus: leaving it out keeps one spelling per series.
        let mut pairs = globals
            .chain(own)
            .chain(extra)
            .filter(|(_, value)| !value.is_empty())
            .peekable();
        if pairs.peek().is_some() {
            self.out.push('{');
            for (index, (name, value)) in pairs.enumerate() {
                if index > 0 {
                    self.out.push(',');
                }
                self.out.push_str(name);
                self.out.push_str("=\"");
                push_label_value(self.out, value);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        match value {
            Value::Int(value) => {
                let _ = write!(self.out, "{value}");
            }
            Value::Float(value) => push_float(self.out, value),
        }
        self.out.push('\n');
    }
}

/// A sample value: counts are written as integers, everything else as floats.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value {
    Int(u64),
    Float(f64),
}
