//! The families of one collection as OTLP metrics: the same series and values the scrape
//! writes, in OTLP's shapes (see the table in the module's documentation).

use crate::model::kind::Kind;
use crate::model::snapshot::{Exemplar, FamilySnapshot, NativeBuckets, SeriesSnapshot, Value};
use crate::otlp::names::{name_and_unit, prometheus_type};
use crate::otlp::proto::{
    AggregationTemporality, Buckets, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, KeyValue, Metric, NumberDataPoint, Sum, Summary,
    SummaryDataPoint, ValueAtQuantile, exemplar, metric::Data, number_data_point,
};

/// The lowest scale Prometheus accepts.
const MIN_SCALE: i32 = -4;
/// The most buckets one side of an exponential histogram is sent with: buckets far apart (a
/// tiny and a huge value) would otherwise make a long run of zeros, so the scale is lowered
/// until they fit, as the receiver may do anyway.
const MAX_DENSE_BUCKETS: i64 = 2048;

/// What every point of one collection shares.
pub(crate) struct Context<'a> {
    pub(crate) globals: &'a [(String, String)],
    /// When `install()` ran, in seconds since the Unix epoch: the start of counts that have no
    /// start of their own.
    pub(crate) installed_at: f64,
    pub(crate) now_nanos: u64,
    /// Exemplars observed up to this time (seconds) were sent already.
    pub(crate) exemplars_after: f64,
    /// Native buckets go as exponential histograms, else the classic ones are sent.
    pub(crate) exponential: bool,
}

/// Every family as OTLP metrics, cumulative.
pub(crate) fn metrics(families: &[FamilySnapshot], context: &Context<'_>) -> Vec<Metric> {
    let mut metrics = Vec::with_capacity(families.len());
    for family in families {
        convert(family, context, &mut metrics);
    }
    metrics
}

fn convert(family: &FamilySnapshot, context: &Context<'_>, out: &mut Vec<Metric>) {
    let (name, unit) = name_and_unit(family);
    let start = nanos(family.created.unwrap_or(context.installed_at));
    let now = context.now_nanos;
    let metric = |data: Data| Metric {
        name: name.to_owned(),
        description: family.help.as_deref().unwrap_or_default().to_owned(),
        unit: unit.to_owned(),
        metadata: prometheus_type(family.kind)
            .map(|kind| KeyValue::string("prometheus.type", kind))
            .into_iter()
            .collect(),
        data: Some(data),
    };
    let cumulative = AggregationTemporality::Cumulative as i32;
    match family.kind {
        Kind::Counter => {
            let data_points = family
                .series
                .iter()
                .map(|series| NumberDataPoint {
                    attributes: attributes(context.globals, series, None),
                    start_time_unix_nano: start,
                    time_unix_nano: now,
                    exemplars: exemplars(series, 0, context),
                    flags: 0,
                    value: number(&series.value),
                })
                .collect();
            out.push(metric(Data::Sum(Sum {
                data_points,
                aggregation_temporality: cumulative,
                is_monotonic: true,
            })));
        }
        Kind::Gauge | Kind::Info => {
            let data_points = family
                .series
                .iter()
                .map(|series| {
                    gauge_point(context.globals, series, None, number(&series.value), now)
                })
                .collect();
            out.push(metric(Data::Gauge(Gauge { data_points })));
        }
        Kind::StateSet => {
            let mut data_points = Vec::new();
            for series in &family.series {
                if let Value::StateSet { states, current } = series.value {
                    for (index, state) in states.iter().enumerate() {
                        let value = number_data_point::Value::AsInt(i64::from(index == current));
                        data_points.push(gauge_point(
                            context.globals,
                            series,
                            Some((family.name, state)),
                            Some(value),
                            now,
                        ));
                    }
                }
            }
            out.push(metric(Data::Gauge(Gauge { data_points })));
        }
        Kind::Histogram => {
            let (mut classic, mut exponential) = (Vec::new(), Vec::new());
            for series in &family.series {
                let Value::Histogram {
                    bounds,
                    counts,
                    sum,
                    native,
                    ..
                } = &series.value
                else {
                    continue;
                };
                let attributes = attributes(context.globals, series, None);
                let count = Value::histogram_count(counts);
                let exemplars = (0..counts.len())
                    .flat_map(|bucket| exemplars(series, bucket, context))
                    .collect();
                match native.as_ref().filter(|_| context.exponential) {
                    Some(native) => exponential.push(exponential_point(
                        native, attributes, start, now, count, *sum, exemplars,
                    )),
                    None => classic.push(HistogramDataPoint {
                        attributes,
                        start_time_unix_nano: start,
                        time_unix_nano: now,
                        count,
                        sum: Some(*sum),
                        bucket_counts: counts.clone(),
                        explicit_bounds: bounds.to_vec(),
                        exemplars,
                        flags: 0,
                    }),
                }
            }
            if !classic.is_empty() || exponential.is_empty() {
                out.push(metric(Data::Histogram(Histogram {
                    data_points: classic,
                    aggregation_temporality: cumulative,
                })));
            }
            if !exponential.is_empty() {
                out.push(metric(Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: exponential,
                    aggregation_temporality: cumulative,
                })));
            }
        }
        Kind::Summary => {
            let data_points = family
                .series
                .iter()
                .filter_map(|series| match &series.value {
                    Value::Summary {
                        quantiles,
                        count,
                        sum,
                        ..
                    } => Some(SummaryDataPoint {
                        attributes: attributes(context.globals, series, None),
                        start_time_unix_nano: start,
                        time_unix_nano: now,
                        count: *count,
                        sum: *sum,
                        quantile_values: quantiles
                            .iter()
                            .map(|(quantile, value)| ValueAtQuantile {
                                quantile: *quantile,
                                value: *value,
                            })
                            .collect(),
                        flags: 0,
                    }),
                    _ => None,
                })
                .collect();
            out.push(metric(Data::Summary(Summary { data_points })));
        }
    }
}

fn gauge_point(
    globals: &[(String, String)],
    series: &SeriesSnapshot,
    extra: Option<(&str, &str)>,
    value: Option<number_data_point::Value>,
    now: u64,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes(globals, series, extra),
        start_time_unix_nano: 0,
        time_unix_nano: now,
        exemplars: Vec::new(),
        flags: 0,
        value,
    }
}

/// Global labels first, then the series' own, then one the kind adds; empty values left out,
/// as Prometheus reads a label with an empty value as absent.
fn attributes(
    globals: &[(String, String)],
    series: &SeriesSnapshot,
    extra: Option<(&str, &str)>,
) -> Vec<KeyValue> {
    globals
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .chain(series.labels.iter().map(|(name, value)| (*name, &**value)))
        .chain(extra)
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| KeyValue::string(name, value))
        .collect()
}

fn number(value: &Value) -> Option<number_data_point::Value> {
    match *value {
        Value::Int(count) => Some(number_data_point::Value::AsInt(
            i64::try_from(count).unwrap_or(i64::MAX),
        )),
        Value::Float(value) => Some(number_data_point::Value::AsDouble(value)),
        _ => None,
    }
}

/// The exemplar of one bucket (or of a counter, bucket 0), unless an earlier export sent it.
fn exemplars(
    series: &SeriesSnapshot,
    bucket: usize,
    context: &Context<'_>,
) -> Vec<crate::otlp::proto::Exemplar> {
    series
        .exemplars
        .get(bucket)
        .and_then(Option::as_ref)
        .filter(|exemplar| exemplar.timestamp > context.exemplars_after)
        .map(|exemplar: &Exemplar| crate::otlp::proto::Exemplar {
            filtered_attributes: Vec::new(),
            time_unix_nano: nanos(exemplar.timestamp),
            span_id: exemplar.trace.span_id.to_vec(),
            trace_id: exemplar.trace.trace_id.to_vec(),
            value: Some(exemplar::Value::AsDouble(exemplar.value)),
        })
        .into_iter()
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn exponential_point(
    native: &NativeBuckets,
    attributes: Vec<KeyValue>,
    start: u64,
    now: u64,
    count: u64,
    sum: f64,
    exemplars: Vec<crate::otlp::proto::Exemplar>,
) -> ExponentialHistogramDataPoint {
    let mut scale = native.schema;
    let mut positive = native.positive.clone();
    let mut negative = native.negative.clone();
    while scale > MIN_SCALE
        && (span(&positive) > MAX_DENSE_BUCKETS || span(&negative) > MAX_DENSE_BUCKETS)
    {
        scale -= 1;
        positive = halve(&positive);
        negative = halve(&negative);
    }
    ExponentialHistogramDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: now,
        count,
        sum: Some(sum),
        scale,
        zero_count: native.zero_count,
        positive: dense(&positive),
        negative: dense(&negative),
        flags: 0,
        exemplars,
        zero_threshold: native.zero_threshold,
    }
}

/// How many dense buckets the keys make.
fn span(buckets: &[(i32, u64)]) -> i64 {
    match (buckets.first(), buckets.last()) {
        (Some((first, _)), Some((last, _))) => i64::from(*last) - i64::from(*first) + 1,
        _ => 0,
    }
}

/// The buckets one scale lower: Prometheus' bucket `k` and `k - 1` (odd `k`) merge into
/// `ceil(k / 2)`.
pub(crate) fn halve(buckets: &[(i32, u64)]) -> Vec<(i32, u64)> {
    let mut out: Vec<(i32, u64)> = Vec::with_capacity(buckets.len());
    for &(key, count) in buckets {
        let key = (key + 1).div_euclid(2);
        match out.last_mut() {
            Some((last, total)) if *last == key => *total = total.saturating_add(count),
            _ => out.push((key, count)),
        }
    }
    out
}

/// Sparse Prometheus buckets as OTLP's dense ones: Prometheus indexes a bucket by its upper
/// bound, OTLP by its lower one, so OTLP's offset is the first key minus one.
fn dense(buckets: &[(i32, u64)]) -> Option<Buckets> {
    let first = buckets.first()?.0;
    let mut bucket_counts = vec![0; usize::try_from(span(buckets)).unwrap_or_default()];
    for &(key, count) in buckets {
        bucket_counts[usize::try_from(i64::from(key) - i64::from(first)).unwrap_or_default()] =
            count;
    }
    Some(Buckets {
        offset: first - 1,
        bucket_counts,
    })
}

/// Seconds since the Unix epoch as nanoseconds.
pub(crate) fn nanos(seconds: f64) -> u64 {
    // Saturating: a clock before 1970 or after 2554 gives 0 or the largest time.
    (seconds * 1e9) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_buckets_become_dense_with_otlps_offset() {
        // The specification's example: Prometheus keys 4 and 7..=9.
        let buckets = [(4, 10), (7, 20), (8, 5), (9, 2)];
        let dense = dense(&buckets).unwrap();
        assert_eq!(dense.offset, 3);
        assert_eq!(dense.bucket_counts, [10, 0, 0, 20, 5, 2]);
        assert_eq!(
            halve(&[(-1, 1), (0, 1), (1, 1), (2, 1), (3, 1)]),
            [(0, 2), (1, 2), (2, 1)]
        );
    }

    #[test]
    fn far_apart_buckets_lower_the_scale_until_they_fit() {
        let native = NativeBuckets {
            schema: 8,
            zero_threshold: 0.0,
            zero_count: 0,
            positive: vec![(-200_000, 1), (200_000, 1)],
            negative: Vec::new(),
        };
        let point = exponential_point(&native, Vec::new(), 0, 0, 2, 0.0, Vec::new());
        let positive = point.positive.unwrap();
        assert!(
            positive.bucket_counts.len() as i64 <= MAX_DENSE_BUCKETS || point.scale == MIN_SCALE
        );
        assert_eq!(positive.bucket_counts.iter().sum::<u64>(), 2);
        assert!(point.scale < 8);
    }
}
