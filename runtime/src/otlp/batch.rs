//! The requests of one export: the resource and the metrics, split so that no body is bigger
//! than the limit (unless one data point is).

use prost::Message as _;

use crate::otlp::proto::{
    ExportMetricsServiceRequest, KeyValue, Metric, Resource, ResourceMetrics, ScopeMetrics,
    metric::Data,
};

/// What one request carries besides its metrics: a few bytes of framing per level.
const FRAMING: usize = 64;

/// `metrics` in requests of at most `max_bytes` each, every one with the resource.
pub(crate) fn requests(
    resource: &[KeyValue],
    metrics: Vec<Metric>,
    max_bytes: usize,
) -> Vec<ExportMetricsServiceRequest> {
    let resource_bytes = Resource {
        attributes: resource.to_vec(),
    }
    .encoded_len()
        + FRAMING;
    let room = max_bytes.saturating_sub(resource_bytes).max(1);
    let mut batches: Vec<Vec<Metric>> = Vec::new();
    let mut size = 0;
    for metric in metrics.into_iter().flat_map(|metric| split(metric, room)) {
        let bytes = metric.encoded_len() + FRAMING;
        if batches.is_empty() || size + bytes > room {
            batches.push(Vec::new());
            size = 0;
        }
        size += bytes;
        batches.last_mut().expect("pushed above").push(metric);
    }
    batches
        .into_iter()
        .map(|metrics| ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: resource.to_vec(),
                }),
                scope_metrics: vec![ScopeMetrics { metrics }],
            }],
        })
        .collect()
}

/// A metric too big for one request, as several with its data points shared out.
fn split(metric: Metric, room: usize) -> Vec<Metric> {
    if metric.encoded_len() + FRAMING <= room {
        return vec![metric];
    }
    let points = metric.points();
    if points < 2 {
        return vec![metric];
    }
    let (mut first, mut second) = (metric.clone(), metric);
    let half = points / 2;
    match (&mut first.data, &mut second.data) {
        (Some(Data::Gauge(a)), Some(Data::Gauge(b))) => {
            a.data_points.truncate(half);
            b.data_points.drain(..half);
        }
        (Some(Data::Sum(a)), Some(Data::Sum(b))) => {
            a.data_points.truncate(half);
            b.data_points.drain(..half);
        }
        (Some(Data::Histogram(a)), Some(Data::Histogram(b))) => {
            a.data_points.truncate(half);
            b.data_points.drain(..half);
        }
        (Some(Data::ExponentialHistogram(a)), Some(Data::ExponentialHistogram(b))) => {
            a.data_points.truncate(half);
            b.data_points.drain(..half);
        }
        (Some(Data::Summary(a)), Some(Data::Summary(b))) => {
            a.data_points.truncate(half);
            b.data_points.drain(..half);
        }
        _ => {}
    }
    let mut out = split(first, room);
    out.extend(split(second, room));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::proto::{Gauge, NumberDataPoint, number_data_point};

    #[test]
    fn big_exports_are_split_and_nothing_is_lost() {
        let point = |index: usize| NumberDataPoint {
            attributes: vec![KeyValue::string("worker", index.to_string())],
            value: Some(number_data_point::Value::AsDouble(index as f64)),
            ..Default::default()
        };
        let metrics: Vec<Metric> = (0..10)
            .map(|metric| Metric {
                name: format!("gauge_{metric}"),
                data: Some(Data::Gauge(Gauge {
                    data_points: (0..100).map(point).collect(),
                })),
                ..Default::default()
            })
            .collect();
        let total: usize = metrics.iter().map(|metric| metric.encoded_len()).sum();
        let resource = [KeyValue::string("service.name", "s")];
        let requests = requests(&resource, metrics, 4096);
        assert!(requests.len() > total / 4096, "{}", requests.len());
        let mut points = 0;
        for request in &requests {
            assert!(request.encoded_len() <= 4096, "{}", request.encoded_len());
            for metric in &request.resource_metrics[0].scope_metrics[0].metrics {
                let Some(Data::Gauge(gauge)) = &metric.data else {
                    panic!()
                };
                points += gauge.data_points.len();
            }
        }
        assert_eq!(points, 1000);
    }
}
