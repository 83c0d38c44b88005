//! The Prometheus rules file of the program's objectives.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::error::Error;
use crate::exposition::openmetrics::push_canonical_float;
use crate::exposition::text::push_float;
use crate::model::descriptor::SiteInfo;
use crate::model::objective::Objective;
use crate::state;
use crate::storage::call_site::{CALL_SITES, CallSite};

/// Every window a recording rule computes.
const WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// A burn rate and the long and short windows over which both must exceed it.
type Condition = (f64, &'static str, &'static str);

/// `(severity, conditions)`, from the SRE workbook.
const ALERTS: [(&str, [Condition; 2]); 2] = [
    ("page", [(14.4, "1h", "5m"), (6.0, "6h", "30m")]),
    ("ticket", [(3.0, "1d", "2h"), (1.0, "3d", "6h")]),
];

/// One objective and the functions that count towards it.
struct Watched {
    objective: &'static Objective,
    sites: Vec<&'static SiteInfo>,
}

/// The Prometheus rules file (YAML) of every objective named by a `#[track_metrics]` function
/// of the program: recording rules for each SLI over each window, and the multi-window,
/// multi-burn-rate alerts. See the [module](crate::slo) documentation. Load it with
/// `rule_files:` in `prometheus.yml`; `promtool check rules` accepts it.
///
/// # Errors
///
/// Two different objectives under one name, or a latency threshold that is not a bucket bound
/// of a function's duration histogram (with the buckets `install()` set, or the declared or
/// default ones before it): [`Error::Objective`], which names them.
pub fn rules() -> Result<String, Error> {
    let watched = watched(CALL_SITES.iter().map(CallSite::info), |site| {
        state::function_buckets_of(site.duration, site.buckets)
    })?;
    let mut out = String::from(
        "# Service-level objectives of this program, written by track_metrics::slo::rules().\n\
         # Alerts: the multi-window, multi-burn-rate alerts of the Google SRE workbook.\n\
         groups:\n",
    );
    for entry in watched.values() {
        write_objective(&mut out, entry);
    }
    if watched.is_empty() {
        out.push_str("  []\n");
    }
    Ok(out)
}

/// Checks the objectives of `sites`, each function's buckets given by `bounds_of`, as
/// `install()` does before anything runs.
pub(crate) fn check(
    sites: &[&'static SiteInfo],
    bounds_of: impl Fn(&SiteInfo) -> &'static [f64],
) -> Result<(), Error> {
    watched(sites.iter().copied(), bounds_of).map(|_| ())
}

/// The objectives by name, each with its functions, checked.
fn watched(
    sites: impl Iterator<Item = &'static SiteInfo>,
    bounds_of: impl Fn(&SiteInfo) -> &'static [f64],
) -> Result<BTreeMap<&'static str, Watched>, Error> {
    let mut watched: BTreeMap<&'static str, Watched> = BTreeMap::new();
    for site in sites {
        let Some(objective) = site.objective else {
            continue;
        };
        let bounds = bounds_of(site);
        if !objective.fits(bounds) {
            return Err(Error::Objective(format!(
                "the latency threshold of objective `{}` is not a bucket bound of {}'s duration \
                 histogram `{}` ({bounds:?}): add it to the function's `buckets` or to \
                 `ExporterBuilder::buckets_for`",
                objective.name(),
                site.describe(),
                site.duration,
            )));
        }
        let entry = watched.entry(objective.name()).or_insert_with(|| Watched {
            objective,
            sites: Vec::new(),
        });
        if *entry.objective != *objective {
            return Err(Error::Objective(format!(
                "two different objectives are named `{}` ({:?} and {:?}): name them apart",
                objective.name(),
                entry.objective,
                objective
            )));
        }
        entry.sites.push(site);
    }
    Ok(watched)
}

fn write_objective(out: &mut String, watched: &Watched) {
    let objective = watched.objective;
    let name = objective.name();
    let mut slis: Vec<(&str, f64, String)> = Vec::new();
    if let Some(budget) = objective.error_budget() {
        slis.push((
            "success",
            budget,
            format!(
                "{}% of calls succeed",
                literal(objective.success_rate_percent().unwrap_or_default())
            ),
        ));
    }
    if let Some(latency) = objective.latency_objective() {
        slis.push((
            "latency",
            1.0 - latency.percentile / 100.0,
            format!(
                "{}% of calls take at most {} s",
                literal(latency.percentile),
                literal(latency.threshold_seconds)
            ),
        ));
    }
    if slis.is_empty() {
        // `#[track_metrics]` refuses an objective without a target at compile time.
        return;
    }
    let mut functions: Vec<String> = watched
        .sites
        .iter()
        .map(|site| site.function.to_owned())
        .collect();
    functions.sort();
    functions.dedup();
    let functions = functions.join(", ");

    let _ = writeln!(out, "  - name: {}", yaml_string(&format!("slo-{name}-sli")));
    out.push_str("    rules:\n");
    for (sli, _, _) in &slis {
        for window in WINDOWS {
            let _ = writeln!(out, "      - record: slo:sli_error:ratio_rate{window}");
            let expr = match *sli {
                "success" => success_ratio(watched, window),
                _ => latency_ratio(watched, window),
            };
            write_expr(out, &expr);
            write_labels(out, &[("objective", name), ("sli", sli)]);
        }
    }
    let _ = writeln!(
        out,
        "  - name: {}",
        yaml_string(&format!("slo-{name}-alerts"))
    );
    out.push_str("    rules:\n");
    for (sli, budget, target) in &slis {
        for (severity, conditions) in ALERTS {
            let selector = format!("{{{},sli=\"{sli}\"}}", matcher("objective", name));
            let expr = conditions
                .iter()
                .map(|(burn, long, short)| {
                    let threshold = format!("{} * {}", literal(*burn), number(*budget));
                    format!(
                        "(\n  slo:sli_error:ratio_rate{long}{selector} > ({threshold})\n  and\n  \
                         slo:sli_error:ratio_rate{short}{selector} > ({threshold})\n)"
                    )
                })
                .collect::<Vec<_>>()
                .join("\nor\n");
            let alert = format!(
                "SLOBudgetBurn{}",
                if *sli == "success" {
                    "Errors"
                } else {
                    "Latency"
                }
            );
            let _ = writeln!(out, "      - alert: {alert}");
            write_expr(out, &expr);
            // An alert's labels and annotations are Go templates: the names in them must read
            // as text.
            let objective_label = template_text(name);
            write_labels(
                out,
                &[
                    ("objective", &objective_label),
                    ("sli", sli),
                    ("severity", severity),
                ],
            );
            let windows: Vec<String> = conditions
                .iter()
                .map(|(burn, long, short)| format!("{}x over {long} and {short}", literal(*burn)))
                .collect();
            out.push_str("        annotations:\n");
            let _ = writeln!(
                out,
                "          summary: {}",
                yaml_string(&template_text(&format!(
                    "Objective {name} ({target}) is burning its {sli} error budget: {}",
                    windows.join(", or ")
                )))
            );
            let _ = writeln!(
                out,
                "          description: {}",
                yaml_string(&template_text(&format!(
                    "The {sli} SLI of objective {name} ({target}) spends its error budget too \
                     fast; at this pace a {severity} is due. Functions: {functions}."
                )))
            );
        }
    }
}

/// The share of failed calls of the objective's functions over `window`.
fn success_ratio(watched: &Watched, window: &str) -> String {
    let selector = objective_selector(watched.objective, "");
    let errors = sum_rates(
        watched.sites.iter().map(|site| site.errors),
        &selector,
        window,
    );
    let calls = sum_rates(
        watched.sites.iter().map(|site| site.calls),
        &selector,
        window,
    );
    // Without calls the ratio is empty rather than NaN.
    format!("(\n  {errors}\n)\n/\n(\n  {calls} > 0\n)")
}

/// The share of calls slower than the threshold over `window`.
fn latency_ratio(watched: &Watched, window: &str) -> String {
    let threshold = watched
        .objective
        .latency_objective()
        .map_or(0.0, |latency| latency.threshold_seconds);
    // The bound as text 0.0.4 writes it (`1`) and as OpenMetrics and protobuf do (`1.0`).
    let mut spellings = vec![String::new(), String::new()];
    push_float(&mut spellings[0], threshold);
    push_canonical_float(&mut spellings[1], threshold);
    spellings.dedup();
    let le = spellings
        .iter()
        .map(|spelling| spelling.replace('.', "\\\\.").replace('+', "\\\\+"))
        .collect::<Vec<_>>()
        .join("|");
    let fast = sum_rates(
        watched
            .sites
            .iter()
            .map(|site| format!("{}_bucket", site.duration)),
        &objective_selector(watched.objective, &format!(",le=~\"{le}\"")),
        window,
    );
    let all = sum_rates(
        watched
            .sites
            .iter()
            .map(|site| format!("{}_count", site.duration)),
        &objective_selector(watched.objective, ""),
        window,
    );
    format!("1 - (\n  ({fast})\n  /\n  ({all} > 0)\n)")
}

fn objective_selector(objective: &Objective, extra: &str) -> String {
    format!("{{{}{extra}}}", matcher("objective", objective.name()))
}

/// The PromQL matcher of one label value: `label="value"`; or, for a value that holds the
/// replacement character U+FFFD, which PromQL's lexer refuses in a string even escaped (it takes
/// it for invalid UTF-8), the regex that matches exactly that value, naming it `\x{FFFD}`.
fn matcher(label: &str, value: &str) -> String {
    if !value.contains('\u{fffd}') {
        return format!("{label}=\"{}\"", promql_string(value));
    }
    let mut regex = String::new();
    for c in value.chars() {
        match c {
            '\u{fffd}' => regex.push_str("\\x{FFFD}"),
            c if "\\.+*?()|[]{}^$".contains(c) => {
                regex.push('\\');
                regex.push(c);
            }
            c => regex.push(c),
        }
    }
    // Regex matchers are anchored at both ends: this one matches the value alone.
    format!("{label}=~\"{}\"", promql_string(&regex))
}

/// `(sum(rate(a{..}[w])) or vector(0)) + (sum(rate(b{..}[w])) or vector(0))` over the
/// distinct names. A family without series (an error counter before its first error) counts 0:
/// in PromQL an empty side would empty the whole sum.
fn sum_rates(
    names: impl Iterator<Item = impl Into<String>>,
    selector: &str,
    window: &str,
) -> String {
    let mut names: Vec<String> = names.map(Into::into).collect();
    names.sort();
    names.dedup();
    names
        .iter()
        .map(|name| format!("(sum(rate({name}{selector}[{window}])) or vector(0))"))
        .collect::<Vec<_>>()
        .join(" + ")
}

fn write_expr(out: &mut String, expr: &str) {
    out.push_str("        expr: |\n");
    for line in expr.lines() {
        let _ = writeln!(out, "          {line}");
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)]) {
    out.push_str("        labels:\n");
    for (name, value) in labels {
        let _ = writeln!(out, "          {name}: {}", yaml_string(value));
    }
}

/// A number the code wrote (a percentage, a threshold, a burn rate) as PromQL and people read
/// it: `99.9`, `0.25`, `14.4`.
fn literal(value: f64) -> String {
    let mut out = String::new();
    push_float(&mut out, value);
    out
}

/// A computed number to 10 significant digits, far finer than any alert needs: an error budget
/// of 99.9% reads `0.001` rather than `0.000999999999999943`, and a budget of `1e-16` stays above
/// zero.
fn number(value: f64) -> String {
    literal(format!("{value:.9e}").parse().unwrap_or(value))
}

/// Text that Prometheus' Go templates (alert labels and annotations) expand to itself: only
/// `{{` opens an action, so each one becomes an action that prints it.
fn template_text(text: &str) -> String {
    text.replace("{{", r#"{{ "{{" }}"#)
}

/// Characters a YAML document or a PromQL string cannot hold as they are: control characters,
/// the Unicode line and paragraph separators (YAML line breaks), the byte order mark, the
/// non-characters YAML does not print, and the replacement character (PromQL's lexer takes a
/// raw one for invalid UTF-8).
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffd}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// A YAML double-quoted string.
fn yaml_string(text: &str) -> String {
    format!("\"{}\"", promql_string(text))
}

/// A PromQL double-quoted string's content, which is also a YAML double-quoted string's: both
/// read these escapes. It holds no line break of any kind, since it goes into the YAML block
/// scalars of `expr:` too.
fn promql_string(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if unprintable(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_one_line_of_text_in_yaml_promql_and_templates() {
        let name = "a\"b\\c\nd\re\u{2028}f\u{2029}g\u{85}h\u{feff}i\tj\u{fffd}";
        assert_eq!(
            promql_string(name),
            r#"a\"b\\c\nd\u000de\u2028f\u2029g\u0085h\ufeffi\u0009j\ufffd"#
        );
        assert_eq!(yaml_string(name), format!("\"{}\"", promql_string(name)));
        assert_eq!(
            template_text("x{{ .Value }}y{{{"),
            r#"x{{ "{{" }} .Value }}y{{ "{{" }}{"#
        );
    }

    #[test]
    fn a_replacement_character_is_matched_by_an_exact_regex() {
        assert_eq!(matcher("objective", "api"), r#"objective="api""#);
        assert_eq!(
            matcher("objective", "a\u{fffd}.b\\"),
            r#"objective=~"a\\x{FFFD}\\.b\\\\""#
        );
    }

    #[test]
    fn a_tiny_error_budget_stays_above_zero_and_a_common_one_reads_plainly() {
        assert_eq!(number((100.0 - 99.9) / 100.0), "0.001");
        let tiny = Objective::new("x")
            .success_rate(99.999_999_999_999_99)
            .error_budget()
            .unwrap();
        assert!(tiny > 0.0);
        assert_ne!(number(tiny), "0");
        assert_eq!(literal(99.999_999_999_99), "99.99999999999");
    }
}
