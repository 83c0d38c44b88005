//! Histogram bucket layouts: the defaults, and what makes a list of bounds valid.

/// The histogram buckets of prometheus_client, in seconds: what a `metrics!` histogram and a
/// `metrics` facade histogram use unless told otherwise.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The duration buckets of a `#[track_metrics]` function unless told otherwise: 10 µs to 10 s
/// in steps of 1, 2.5 and 5, since Rust functions are often far faster than the 5 ms where
/// [`DEFAULT_BUCKETS`] start (a function averaging 0.1 ms would show a p99 of 5 ms there). 19
/// bounds and `+Inf`: a thread's cells for a function are the same three cache lines as with
/// the 14 of [`DEFAULT_BUCKETS`], and a scrape writes five more lines per function.
pub const FUNCTION_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The families that time requests as `#[track_metrics]` times calls (the axum and tonic
/// layer's): they take the functions' layout, not [`DEFAULT_BUCKETS`], unless told otherwise,
/// since a request a Rust service answers often takes well under the 5 ms where those start.
pub(crate) const REQUEST_DURATION_FAMILIES: [&str; 2] = [
    "http_request_duration_seconds",
    "grpc_server_handling_seconds",
];

/// Why a list of bounds cannot be a bucket layout.
#[derive(Clone, Debug, PartialEq)]
pub enum BucketProblem {
    /// No bound at all.
    Empty,
    /// A bound is infinite or NaN.
    NotFinite(f64),
    /// Two bounds are not in strictly increasing order.
    NotIncreasing(f64, f64),
}

impl std::fmt::Display for BucketProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BucketProblem::Empty => write!(f, "there must be at least one bound"),
            BucketProblem::NotFinite(bound) => write!(
                f,
                "`{bound}` is not finite; `+Inf` is always added as the last bucket"
            ),
            BucketProblem::NotIncreasing(first, second) => write!(
                f,
                "they must be strictly increasing, and `{second}` does not come after `{first}`"
            ),
        }
    }
}

/// Checks that `bounds` can be a bucket layout.
pub(crate) fn check(bounds: &[f64]) -> Result<(), BucketProblem> {
    if bounds.is_empty() {
        return Err(BucketProblem::Empty);
    }
    if let Some(bound) = bounds.iter().find(|bound| !bound.is_finite()) {
        return Err(BucketProblem::NotFinite(*bound));
    }
    if let Some(pair) = bounds.windows(2).find(|pair| pair[0] >= pair[1]) {
        return Err(BucketProblem::NotIncreasing(pair[0], pair[1]));
    }
    Ok(())
}

/// The index of the bucket `value` counts in: the number of bounds below it, so that bucket
/// `i` holds the values `<= bounds[i]` and the last one (`+Inf`) the rest, `NaN` included.
#[inline]
pub(crate) fn index<T: PartialOrd + Copy>(bounds: &[T], value: T) -> usize {
    let is_nan = value.partial_cmp(&value).is_none();
    if is_nan {
        bounds.len()
    } else if bounds.len() <= 32 {
        // A branch-free count is faster than a binary search over the usual dozen bounds.
        bounds.iter().map(|bound| usize::from(*bound < value)).sum()
    } else {
        bounds.partition_point(|bound| *bound < value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_checked() {
        assert_eq!(check(&[]), Err(BucketProblem::Empty));
        assert_eq!(
            check(&[1.0, f64::INFINITY]),
            Err(BucketProblem::NotFinite(f64::INFINITY))
        );
        assert_eq!(
            check(&[1.0, 1.0]),
            Err(BucketProblem::NotIncreasing(1.0, 1.0))
        );
        assert_eq!(check(DEFAULT_BUCKETS), Ok(()));
    }

    #[test]
    fn a_value_counts_in_the_first_bucket_whose_bound_is_not_below_it() {
        let bounds = [0.1, 1.0, 10.0];
        assert_eq!(index(&bounds, 0.05), 0);
        assert_eq!(index(&bounds, 0.1), 0);
        assert_eq!(index(&bounds, 0.2), 1);
        assert_eq!(index(&bounds, 10.0), 2);
        assert_eq!(index(&bounds, 11.0), 3);
        assert_eq!(index(&bounds, f64::INFINITY), 3);
        assert_eq!(index(&bounds, f64::NEG_INFINITY), 0);
        assert_eq!(index(&bounds, f64::NAN), 3);
        let many: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(index(&many, 50.5), 51);
        assert_eq!(index(&many, f64::NAN), 100);
        let ticks = [10_u64, 20, 30];
        assert_eq!(index(&ticks, 20), 1);
        assert_eq!(index(&ticks, 21), 2);
    }
}
