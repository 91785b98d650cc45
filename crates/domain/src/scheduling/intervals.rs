//! Sets of half-open time intervals `[start, end)` in microseconds since the Unix epoch: the
//! working hours, busy times and free times the agenda and the slot search reason about.

/// A sorted set of disjoint, non-adjacent half-open intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntervalSet {
    spans: Vec<(i64, i64)>,
}

impl IntervalSet {
    pub fn new() -> IntervalSet {
        IntervalSet::default()
    }

    /// From any intervals (overlapping, unsorted, empty ones ignored).
    pub fn from_spans(spans: impl IntoIterator<Item = (i64, i64)>) -> IntervalSet {
        let mut v: Vec<(i64, i64)> = spans.into_iter().filter(|(s, e)| s < e).collect();
        v.sort_unstable();
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        IntervalSet { spans: out }
    }

    pub fn spans(&self) -> &[(i64, i64)] {
        &self.spans
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn add(&mut self, start: i64, end: i64) {
        if start >= end {
            return;
        }
        let mut spans = std::mem::take(&mut self.spans);
        spans.push((start, end));
        *self = IntervalSet::from_spans(spans);
    }

    /// Everything in `self` that is not in `other`.
    pub fn minus(&self, other: &IntervalSet) -> IntervalSet {
        let mut out = Vec::with_capacity(self.spans.len());
        let mut j = 0;
        for &(s, e) in &self.spans {
            let mut cur = s;
            while j < other.spans.len() && other.spans[j].1 <= cur {
                j += 1;
            }
            let mut k = j;
            while k < other.spans.len() && other.spans[k].0 < e {
                let (os, oe) = other.spans[k];
                if os > cur {
                    out.push((cur, os));
                }
                cur = cur.max(oe);
                if cur >= e {
                    break;
                }
                k += 1;
            }
            if cur < e {
                out.push((cur, e));
            }
        }
        IntervalSet { spans: out }
    }

    /// The part of `self` inside `[start, end)`.
    pub fn clip(&self, start: i64, end: i64) -> IntervalSet {
        IntervalSet {
            spans: self
                .spans
                .iter()
                .filter_map(|&(s, e)| {
                    let (s, e) = (s.max(start), e.min(end));
                    (s < e).then_some((s, e))
                })
                .collect(),
        }
    }

    /// True when `[start, end)` lies wholly inside one interval of the set.
    pub fn contains(&self, start: i64, end: i64) -> bool {
        if start >= end {
            return true;
        }
        // The last interval starting at or before `start`.
        let i = self.spans.partition_point(|&(s, _)| s <= start);
        i > 0 && self.spans[i - 1].1 >= end
    }

    /// True when `[start, end)` overlaps some interval of the set.
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        if start >= end {
            return false;
        }
        let i = self.spans.partition_point(|&(_, e)| e <= start);
        i < self.spans.len() && self.spans[i].0 < end
    }

    /// The first interval end after `t` that `t` is inside of, or `None` (for skipping ahead).
    pub fn end_of_span_at(&self, t: i64) -> Option<i64> {
        let i = self.spans.partition_point(|&(s, _)| s <= t);
        (i > 0 && self.spans[i - 1].1 > t).then(|| self.spans[i - 1].1)
    }

    pub fn total(&self) -> i64 {
        self.spans.iter().map(|(s, e)| e - s).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn merging_subtracting_and_containment() {
        let s = IntervalSet::from_spans([(10, 20), (15, 30), (40, 50), (30, 35), (60, 60)]);
        assert_eq!(s.spans(), &[(10, 35), (40, 50)]);
        let busy = IntervalSet::from_spans([(12, 14), (20, 42), (49, 70)]);
        assert_eq!(s.minus(&busy).spans(), &[(10, 12), (14, 20), (42, 49)]);
        assert!(s.contains(10, 35) && s.contains(40, 41) && !s.contains(34, 41));
        assert!(s.overlaps(34, 36) && !s.overlaps(35, 40) && !s.overlaps(50, 60));
        assert_eq!(s.clip(30, 45).spans(), &[(30, 35), (40, 45)]);
        assert_eq!(s.end_of_span_at(12), Some(35));
        assert_eq!(s.end_of_span_at(36), None);
        assert_eq!(s.total(), 35);
    }

    fn spans() -> impl Strategy<Value = Vec<(i64, i64)>> {
        proptest::collection::vec((0i64..200, 1i64..40).prop_map(|(s, l)| (s, s + l)), 0..12)
    }

    proptest! {
        // Point by point, `minus` is set difference and `from_spans` is union.
        #[test]
        fn minus_is_set_difference(a in spans(), b in spans()) {
            let (sa, sb) = (IntervalSet::from_spans(a.clone()), IntervalSet::from_spans(b.clone()));
            let d = sa.minus(&sb);
            for t in 0..260 {
                let in_a = a.iter().any(|&(s, e)| s <= t && t < e);
                let in_b = b.iter().any(|&(s, e)| s <= t && t < e);
                prop_assert_eq!(d.contains(t, t + 1), in_a && !in_b, "t = {}", t);
                prop_assert_eq!(sa.contains(t, t + 1), in_a);
                prop_assert_eq!(sb.overlaps(t, t + 1), in_b);
            }
            // Disjoint, sorted and never touching.
            for w in d.spans().windows(2) {
                prop_assert!(w[0].1 < w[1].0);
            }
        }
    }
}
