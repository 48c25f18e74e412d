//! Cutting a series into at most `n` equal step-width buckets, each with
//! min, max and last, so a chart of any length keeps every spike.

use trainyard_core::SeriesBucket;

use super::points::Point;

/// Accumulates the points of `[lo, hi]` into `n` buckets; also keeps the
/// points themselves while there are no more than `n`, so a small series is
/// answered exactly.
pub struct Bucketer {
    lo: f64,
    hi: f64,
    width: f64,
    buckets: Vec<Option<SeriesBucket>>,
    exact: Option<Vec<Point>>,
    total: u64,
}

impl Bucketer {
    /// `n` must be at least 1 and `lo <= hi`.
    pub fn new(lo: f64, hi: f64, n: usize) -> Bucketer {
        let n = n.max(1);
        Bucketer {
            lo,
            hi,
            width: (hi - lo) / n as f64,
            buckets: vec![None; n],
            exact: Some(Vec::new()),
            total: 0,
        }
    }

    /// Adds a point if its step is in range; points come in arrival order.
    pub fn add(&mut self, p: Point) {
        // NaN (logged through MLflow, kept for its history) is not drawn.
        if p.value.is_nan() || !(p.step >= self.lo && p.step <= self.hi) {
            return;
        }
        self.total += 1;
        let n = self.buckets.len();
        if let Some(exact) = &mut self.exact {
            if exact.len() < n {
                exact.push(p);
            } else {
                self.exact = None;
            }
        }
        let index = if self.width > 0.0 {
            // Float division may land a hair past the end: clamp.
            (((p.step - self.lo) / self.width) as usize).min(n - 1)
        } else {
            0
        };
        match &mut self.buckets[index] {
            Some(b) => {
                b.min = b.min.min(p.value);
                b.max = b.max.max(p.value);
                b.last = p.value;
                b.last_step = p.step;
                b.count += 1;
            }
            slot @ None => {
                let start = self.lo + self.width * index as f64;
                let end = if index + 1 == n {
                    self.hi
                } else {
                    self.lo + self.width * (index + 1) as f64
                };
                *slot = Some(SeriesBucket {
                    step_start: start,
                    step_end: end,
                    min: p.value,
                    max: p.value,
                    last: p.value,
                    last_step: p.step,
                    count: 1,
                });
            }
        }
    }

    /// Points in range seen so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Non-empty buckets in step order (single points when they fit).
    pub fn finish(self) -> Vec<SeriesBucket> {
        if let Some(mut exact) = self.exact {
            // Stable: equal steps keep their arrival order.
            exact.sort_by(|a, b| a.step.total_cmp(&b.step));
            return exact
                .into_iter()
                .map(|p| SeriesBucket {
                    step_start: p.step,
                    step_end: p.step,
                    min: p.value,
                    max: p.value,
                    last: p.value,
                    last_step: p.step,
                    count: 1,
                })
                .collect();
        }
        self.buckets.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(step: f64, value: f64) -> Point {
        Point {
            step,
            value,
            time_ms: 0,
        }
    }

    #[test]
    fn a_single_spike_survives_a_hundredfold_reduction() {
        let mut b = Bucketer::new(0.0, 9_999.0, 100);
        for i in 0..10_000 {
            b.add(pt(f64::from(i), if i == 4_321 { 1e6 } else { 1.0 }));
        }
        assert_eq!(b.total(), 10_000);
        let buckets = b.finish();
        assert_eq!(buckets.len(), 100);
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 10_000);
        let spiky: Vec<_> = buckets.iter().filter(|b| b.max == 1e6).collect();
        assert_eq!(spiky.len(), 1);
        assert!(spiky[0].step_start <= 4_321.0 && 4_321.0 <= spiky[0].step_end);
        assert_eq!(buckets[99].last_step, 9_999.0);
        assert_eq!(buckets[99].step_end, 9_999.0);
    }

    #[test]
    fn few_points_come_back_exactly_sorted_by_step() {
        let mut b = Bucketer::new(0.0, 10.0, 5);
        for (s, v) in [(3.0, 0.3), (1.0, 0.1), (2.0, 0.2), (11.0, 9.0)] {
            b.add(pt(s, v));
        }
        let buckets = b.finish();
        let got: Vec<(f64, f64)> = buckets.iter().map(|b| (b.step_start, b.last)).collect();
        assert_eq!(got, vec![(1.0, 0.1), (2.0, 0.2), (3.0, 0.3)]);
    }

    #[test]
    fn last_is_the_latest_arrival_even_when_steps_go_back() {
        let mut b = Bucketer::new(0.0, 1.0, 1);
        for (s, v) in [(0.5, 5.0), (0.9, 9.0), (0.1, 1.0)] {
            b.add(pt(s, v));
        }
        b.add(pt(0.2, 2.0));
        // Two points per bucket budget of one: bucketed, not exact.
        let buckets = b.finish();
        assert_eq!(buckets.len(), 1);
        let only = &buckets[0];
        assert_eq!(
            (only.min, only.max, only.last, only.last_step, only.count),
            (1.0, 9.0, 2.0, 0.2, 4)
        );
    }

    #[test]
    fn a_zero_width_range_is_one_bucket() {
        let mut b = Bucketer::new(5.0, 5.0, 2);
        for v in [1.0, 3.0, 2.0] {
            b.add(pt(5.0, v));
        }
        let buckets = b.finish();
        assert_eq!(buckets.len(), 1);
        assert_eq!(
            (buckets[0].min, buckets[0].max, buckets[0].last),
            (1.0, 3.0, 2.0)
        );
    }
}
