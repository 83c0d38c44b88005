//! Delta temporality: each counter and histogram point minus the same series' point in the last
//! export the receiver accepted.
//!
//! The baseline moves only when an export is accepted, so an export that fails leaves its
//! counts to the next one and nothing is lost. It holds one point per series that exists, so
//! it is as big as one export. A series whose count went down was reset (a series can be
//! evicted and made anew): it is sent whole, starting from the baseline's time.

use std::collections::HashMap;

use crate::otlp::proto::{
    AggregationTemporality, Buckets, ExponentialHistogramDataPoint, HistogramDataPoint, KeyValue,
    Metric, NumberDataPoint, any_value, metric::Data, number_data_point,
};

/// The cumulative point of each series in the last export the receiver accepted, and when
/// that export was collected (nanoseconds since the Unix epoch).
#[derive(Default)]
pub(crate) struct Baselines {
    points: HashMap<String, (Point, u64)>,
}

/// A cumulative point, as kept.
#[derive(Clone)]
enum Point {
    Number(number_data_point::Value),
    Histogram(HistogramDataPoint),
    Exponential(ExponentialHistogramDataPoint),
}

/// The baselines the export being sent would leave, to keep once it is accepted.
pub(crate) struct Pending {
    points: HashMap<String, Point>,
    time: u64,
}

impl Baselines {
    /// Turns the cumulative counters and histograms of `metrics` into deltas against the
    /// baselines; returns the baselines to keep if they are accepted.
    pub(crate) fn apply(&self, metrics: &mut [Metric], now: u64) -> Pending {
        let mut pending = Pending {
            points: HashMap::new(),
            time: now,
        };
        let delta = AggregationTemporality::Delta as i32;
        for metric in metrics.iter_mut() {
            let name = metric.name.clone();
            match &mut metric.data {
                Some(Data::Sum(sum)) => {
                    sum.aggregation_temporality = delta;
                    for point in &mut sum.data_points {
                        self.number(&name, point, &mut pending);
                    }
                }
                Some(Data::Histogram(histogram)) => {
                    histogram.aggregation_temporality = delta;
                    for point in &mut histogram.data_points {
                        let key = key(&name, &point.attributes);
                        let current = point.clone();
                        if let Some((Point::Histogram(previous), time)) = self.get(&key) {
                            subtract_histogram(point, previous, time);
                        }
                        pending.points.insert(key, Point::Histogram(current));
                    }
                }
                Some(Data::ExponentialHistogram(histogram)) => {
                    histogram.aggregation_temporality = delta;
                    for point in &mut histogram.data_points {
                        let key = key(&name, &point.attributes);
                        let current = point.clone();
                        if let Some((Point::Exponential(previous), time)) = self.get(&key) {
                            subtract_exponential(point, previous, time);
                        }
                        pending.points.insert(key, Point::Exponential(current));
                    }
                }
                _ => {}
            }
        }
        pending
    }

    /// Keeps the points of the metrics the receiver accepted; when `complete` (every request of
    /// the export was accepted), the series that are gone are forgotten.
    pub(crate) fn accept(&mut self, mut pending: Pending, accepted: &[Metric], complete: bool) {
        if complete {
            self.points.clear();
        }
        for metric in accepted {
            let attributes: Vec<&[KeyValue]> = match &metric.data {
                Some(Data::Sum(data)) => {
                    data.data_points.iter().map(|p| &p.attributes[..]).collect()
                }
                Some(Data::Histogram(data)) => {
                    data.data_points.iter().map(|p| &p.attributes[..]).collect()
                }
                Some(Data::ExponentialHistogram(data)) => {
                    data.data_points.iter().map(|p| &p.attributes[..]).collect()
                }
                _ => Vec::new(),
            };
            for attributes in attributes {
                let key = key(&metric.name, attributes);
                if let Some(point) = pending.points.remove(&key) {
                    self.points.insert(key, (point, pending.time));
                }
            }
        }
    }

    /// The series' baseline and its time.
    fn get(&self, key: &str) -> Option<(&Point, u64)> {
        self.points.get(key).map(|(point, time)| (point, *time))
    }

    fn number(&self, name: &str, point: &mut NumberDataPoint, pending: &mut Pending) {
        let key = key(name, &point.attributes);
        let Some(current) = point.value else { return };
        if let Some((Point::Number(previous), time)) = self.get(&key) {
            use number_data_point::Value::{AsDouble, AsInt};
            let delta = match (current, *previous) {
                (AsInt(now), AsInt(before)) if now >= before => Some(AsInt(now - before)),
                (AsDouble(now), AsDouble(before)) if now >= before => Some(AsDouble(now - before)),
                _ => None,
            };
            if let Some(delta) = delta {
                point.value = Some(delta);
            }
            point.start_time_unix_nano = time;
        }
        pending.points.insert(key, Point::Number(current));
    }
}

fn subtract_histogram(point: &mut HistogramDataPoint, previous: &HistogramDataPoint, time: u64) {
    point.start_time_unix_nano = time;
    if previous.explicit_bounds != point.explicit_bounds || previous.count > point.count {
        return;
    }
    let counts: Option<Vec<u64>> = point
        .bucket_counts
        .iter()
        .zip(&previous.bucket_counts)
        .map(|(now, before)| now.checked_sub(*before))
        .collect();
    if let Some(counts) = counts {
        point.bucket_counts = counts;
        point.count -= previous.count;
        point.sum = point
            .sum
            .zip(previous.sum)
            .map(|(now, before)| now - before);
    }
}

fn subtract_exponential(
    point: &mut ExponentialHistogramDataPoint,
    previous: &ExponentialHistogramDataPoint,
    time: u64,
) {
    point.start_time_unix_nano = time;
    if previous.scale < point.scale
        || previous.count > point.count
        || previous.zero_count > point.zero_count
    {
        return;
    }
    let halvings = previous.scale - point.scale;
    let subtract = |now: &Option<Buckets>, before: &Option<Buckets>| -> Option<Option<Buckets>> {
        let mut now = sparse(now);
        for (index, count) in lower(&sparse(before), halvings) {
            let slot = now.get_mut(&index)?;
            *slot = slot.checked_sub(count)?;
        }
        Some(dense(now))
    };
    let (Some(positive), Some(negative)) = (
        subtract(&point.positive, &previous.positive),
        subtract(&point.negative, &previous.negative),
    ) else {
        return;
    };
    point.positive = positive;
    point.negative = negative;
    point.count -= previous.count;
    point.zero_count -= previous.zero_count;
    point.sum = point
        .sum
        .zip(previous.sum)
        .map(|(now, before)| now - before);
}

/// The series' identity: the metric's name and its attributes.
fn key(name: &str, attributes: &[KeyValue]) -> String {
    let mut key = String::from(name);
    for attribute in attributes {
        key.push('\u{1f}');
        key.push_str(&attribute.key);
        key.push('\u{1e}');
        if let Some(any_value::Value::StringValue(value)) = attribute
            .value
            .as_ref()
            .and_then(|value| value.value.as_ref())
        {
            key.push_str(value);
        }
    }
    key
}

/// OTLP buckets by index (OTLP's, by lower bound).
fn sparse(buckets: &Option<Buckets>) -> std::collections::BTreeMap<i64, u64> {
    let mut map = std::collections::BTreeMap::new();
    if let Some(buckets) = buckets {
        for (index, count) in buckets.bucket_counts.iter().enumerate() {
            if *count > 0 {
                map.insert(i64::from(buckets.offset) + index as i64, *count);
            }
        }
    }
    map
}

/// The buckets `halvings` scales lower: OTLP's bucket `i` goes in `floor(i / 2^halvings)`.
fn lower(
    buckets: &std::collections::BTreeMap<i64, u64>,
    halvings: i32,
) -> std::collections::BTreeMap<i64, u64> {
    let mut out = std::collections::BTreeMap::new();
    for (index, count) in buckets {
        *out.entry(index >> halvings).or_insert(0) += count;
    }
    out
}

fn dense(buckets: std::collections::BTreeMap<i64, u64>) -> Option<Buckets> {
    let first = *buckets.keys().next()?;
    let last = *buckets.keys().next_back()?;
    let mut bucket_counts = vec![0; usize::try_from(last - first + 1).unwrap_or_default()];
    for (index, count) in buckets {
        bucket_counts[usize::try_from(index - first).unwrap_or_default()] = count;
    }
    Some(Buckets {
        offset: i32::try_from(first).unwrap_or_default(),
        bucket_counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::proto::{Histogram, Sum};

    fn sum(value: i64) -> Metric {
        Metric {
            name: "calls".into(),
            description: String::new(),
            unit: String::new(),
            metadata: Vec::new(),
            data: Some(Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    attributes: vec![KeyValue::string("function", "f")],
                    start_time_unix_nano: 1,
                    time_unix_nano: 0,
                    exemplars: Vec::new(),
                    flags: 0,
                    value: Some(number_data_point::Value::AsInt(value)),
                }],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })),
        }
    }

    fn sent(metric: &Metric) -> (Option<number_data_point::Value>, u64) {
        let Some(Data::Sum(sum)) = &metric.data else {
            panic!()
        };
        (
            sum.data_points[0].value,
            sum.data_points[0].start_time_unix_nano,
        )
    }

    #[test]
    fn a_failed_export_leaves_its_counts_to_the_next() {
        use number_data_point::Value::AsInt;
        let mut baselines = Baselines::default();
        let mut first = [sum(5)];
        let pending = baselines.apply(&mut first, 100);
        assert_eq!(sent(&first[0]), (Some(AsInt(5)), 1));
        baselines.accept(pending, &first, true);
        // Sent, not accepted.
        let mut second = [sum(8)];
        let _lost = baselines.apply(&mut second, 200);
        assert_eq!(sent(&second[0]), (Some(AsInt(3)), 100));
        let mut third = [sum(12)];
        let pending = baselines.apply(&mut third, 300);
        assert_eq!(
            sent(&third[0]),
            (Some(AsInt(7)), 100),
            "3 + 4: nothing lost"
        );
        baselines.accept(pending, &third, true);
        // A reset is sent whole.
        let mut fourth = [sum(2)];
        baselines.apply(&mut fourth, 400);
        assert_eq!(sent(&fourth[0]), (Some(AsInt(2)), 300));
    }

    #[test]
    fn histograms_subtract_bucket_by_bucket() {
        let histogram = |counts: Vec<u64>| Metric {
            name: "d".into(),
            description: String::new(),
            unit: String::new(),
            metadata: Vec::new(),
            data: Some(Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: Vec::new(),
                    start_time_unix_nano: 1,
                    time_unix_nano: 0,
                    count: counts.iter().sum(),
                    sum: Some(counts.iter().sum::<u64>() as f64),
                    bucket_counts: counts,
                    explicit_bounds: vec![1.0],
                    exemplars: Vec::new(),
                    flags: 0,
                }],
                aggregation_temporality: 2,
            })),
        };
        let mut baselines = Baselines::default();
        let mut first = [histogram(vec![1, 2])];
        let pending = baselines.apply(&mut first, 10);
        baselines.accept(pending, &first, true);
        let mut next = [histogram(vec![4, 2])];
        baselines.apply(&mut next, 20);
        let Some(Data::Histogram(sent)) = &next[0].data else {
            panic!()
        };
        assert_eq!(sent.data_points[0].bucket_counts, [3, 0]);
        assert_eq!(sent.data_points[0].count, 3);
        assert_eq!(sent.data_points[0].sum, Some(3.0));
        assert_eq!(
            sent.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
    }

    #[test]
    fn exponential_histograms_subtract_across_a_lower_scale() {
        let point = |scale: i32, offset: i32, counts: Vec<u64>| ExponentialHistogramDataPoint {
            scale,
            count: counts.iter().sum(),
            sum: Some(0.0),
            positive: Some(Buckets {
                offset,
                bucket_counts: counts,
            }),
            ..Default::default()
        };
        let metric = |point: ExponentialHistogramDataPoint| Metric {
            name: "e".into(),
            description: String::new(),
            unit: String::new(),
            metadata: Vec::new(),
            data: Some(Data::ExponentialHistogram(
                crate::otlp::proto::ExponentialHistogram {
                    data_points: vec![point],
                    aggregation_temporality: 2,
                },
            )),
        };
        let mut baselines = Baselines::default();
        // Scale 1: OTLP buckets 2 and 3 (one each); then scale 0, where both are bucket 1.
        let mut first = [metric(point(1, 2, vec![1, 1]))];
        let pending = baselines.apply(&mut first, 10);
        baselines.accept(pending, &first, true);
        let mut next = [metric(point(0, 1, vec![5]))];
        baselines.apply(&mut next, 20);
        let Some(Data::ExponentialHistogram(sent)) = &next[0].data else {
            panic!()
        };
        let sent = &sent.data_points[0];
        assert_eq!(sent.count, 3);
        assert_eq!(sent.positive.as_ref().unwrap().bucket_counts, [3]);
    }
}
