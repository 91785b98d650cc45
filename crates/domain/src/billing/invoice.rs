//! The arithmetic of an invoice, exact to the cent: each line's gross (quantity × unit price),
//! its own discount, its share of a discount on the total, its tax, and the totals.
//!
//! Rounding happens once per amount (half up, on non-negative amounts); a discount on the total
//! is shared across the lines in proportion to what they are worth after their own discounts,
//! the cents left by rounding going to the largest remainders, so the shares always add up to
//! the discount. Tax is computed on what a line is worth after every discount.

use serde::{Deserialize, Serialize};

use crate::kernel::error::{DomainError, FieldError};

/// A discount: a percentage (in basis points, 1000 = 10 %) or an amount in minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Cut {
    Percent(i64),
    Amount(i64),
}

impl Cut {
    pub fn code(&self) -> &'static str {
        match self {
            Cut::Percent(_) => "percent",
            Cut::Amount(_) => "amount",
        }
    }

    pub fn value(&self) -> i64 {
        match self {
            Cut::Percent(v) | Cut::Amount(v) => *v,
        }
    }

    pub fn from_parts(kind: &str, value: i64) -> Option<Cut> {
        match kind {
            "percent" => Some(Cut::Percent(value)),
            "amount" => Some(Cut::Amount(value)),
            _ => None,
        }
    }

    /// What it takes off `base` (≥ 0), or why it cannot.
    fn of(&self, base: i64) -> Result<i64, &'static str> {
        match *self {
            Cut::Percent(bp) if !(0..=10_000).contains(&bp) => {
                Err("a percentage is between 0 and 100")
            }
            Cut::Percent(bp) => Ok(share_of(base, bp, 10_000)),
            Cut::Amount(a) if a < 0 => Err("a discount cannot be negative"),
            Cut::Amount(a) if a > base => Err("more than what it discounts"),
            Cut::Amount(a) => Ok(a),
        }
    }
}

/// `base × num / den` rounded half up (all non-negative, computed in 128 bits).
fn share_of(base: i64, num: i64, den: i64) -> i64 {
    if den <= 0 {
        return 0;
    }
    let p = i128::from(base) * i128::from(num);
    let d = i128::from(den);
    i64::try_from((2 * p + d) / (2 * d)).unwrap_or(i64::MAX)
}

/// One line as asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineIn {
    pub quantity: i64,
    /// The price of one, minor units.
    pub unit: i64,
    pub discount: Option<Cut>,
    /// The tax rate in basis points (0 for none; 1300 = 13 %).
    pub tax_bp: i64,
}

/// One line as computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LineOut {
    /// Quantity × unit price.
    pub gross: i64,
    /// Its own discount.
    pub line_discount: i64,
    /// Its share of the discount on the total.
    pub share: i64,
    /// Gross less both discounts.
    pub net: i64,
    pub tax: i64,
    /// Net plus tax.
    pub total: i64,
}

impl LineOut {
    /// Every discount on the line.
    pub fn discount(&self) -> i64 {
        self.line_discount + self.share
    }
}

/// An invoice's lines and totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub lines: Vec<LineOut>,
    /// The sum of the gross amounts.
    pub subtotal: i64,
    /// Every discount: the lines' own and the total's.
    pub discount: i64,
    pub tax: i64,
    /// Subtotal less discounts plus tax: what the patient is asked to pay.
    pub total: i64,
}

/// The most an invoice line may be: 10 million in major units of a two-decimal currency.
pub const MAX_LINE: i64 = 1_000_000_000;

/// Computes an invoice. Refused (every problem at once, by line): a quantity below 1 or above
/// 10 000, a negative unit price, a line above [`MAX_LINE`], a tax rate outside 0–100 %, a
/// discount that is negative, over 100 % or above what it discounts.
pub fn compute(lines: &[LineIn], total_discount: Option<Cut>) -> Result<Totals, DomainError> {
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let f = |field: &str, m: &str| FieldError {
            field: format!("lines[{i}].{field}"),
            message: m.to_string(),
        };
        if !(1..=10_000).contains(&l.quantity) {
            errors.push(f("quantity", "between 1 and 10 000"));
            out.push(LineOut::default());
            continue;
        }
        if l.unit < 0 {
            errors.push(f("unit", "a price cannot be negative"));
            out.push(LineOut::default());
            continue;
        }
        if !(0..=10_000).contains(&l.tax_bp) {
            errors.push(f("tax", "a tax rate is between 0 and 100 %"));
        }
        let gross = match l.quantity.checked_mul(l.unit) {
            Some(g) if g <= MAX_LINE => g,
            _ => {
                errors.push(f("unit", "this line is too large"));
                out.push(LineOut::default());
                continue;
            }
        };
        let line_discount = match l.discount.map(|d| d.of(gross)).transpose() {
            Ok(d) => d.unwrap_or(0),
            Err(m) => {
                errors.push(f("discount", m));
                0
            }
        };
        out.push(LineOut {
            gross,
            line_discount,
            ..LineOut::default()
        });
    }
    let base: i64 = out.iter().map(|l| l.gross - l.line_discount).sum();
    let wanted = match total_discount.map(|d| d.of(base)).transpose() {
        Ok(d) => d.unwrap_or(0),
        Err(m) => {
            errors.push(FieldError {
                field: "discount".into(),
                message: m.to_string(),
            });
            0
        }
    };
    if !errors.is_empty() {
        return Err(DomainError::validation(errors));
    }
    // Shares in proportion to each line's worth after its own discount; the cents rounding
    // leaves go to the largest remainders (the earlier line on a tie).
    if wanted > 0 && base > 0 {
        let mut rems = Vec::with_capacity(out.len());
        let mut given = 0i64;
        for (i, l) in out.iter_mut().enumerate() {
            let worth = i128::from(l.gross - l.line_discount);
            let exact = worth * i128::from(wanted);
            let floor = exact / i128::from(base);
            let floor = i64::try_from(floor).unwrap_or(0);
            l.share = floor;
            given += floor;
            rems.push((exact % i128::from(base), i));
        }
        rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in rems
            .into_iter()
            .take(usize::try_from(wanted - given).unwrap_or(0))
        {
            if let Some(l) = out.get_mut(i) {
                l.share += 1;
            }
        }
    }
    for (l, i) in out.iter_mut().zip(lines) {
        l.net = l.gross - l.line_discount - l.share;
        l.tax = share_of(l.net, i.tax_bp, 10_000);
        l.total = l.net + l.tax;
    }
    Ok(Totals {
        subtotal: out.iter().map(|l| l.gross).sum(),
        discount: out.iter().map(|l| l.discount()).sum(),
        tax: out.iter().map(|l| l.tax).sum(),
        total: out.iter().map(|l| l.total).sum(),
        lines: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(quantity: i64, unit: i64) -> LineIn {
        LineIn {
            quantity,
            unit,
            discount: None,
            tax_bp: 0,
        }
    }

    #[test]
    fn a_plain_invoice_adds_up() {
        let t = compute(&[line(1, 12_000), line(2, 1_550)], None).unwrap();
        assert_eq!(t.subtotal, 15_100);
        assert_eq!(t.discount, 0);
        assert_eq!(t.total, 15_100);
        assert_eq!(t.lines[1].gross, 3_100);
    }

    #[test]
    fn line_and_total_discounts_and_tax_round_once_each() {
        let mut a = line(1, 10_000);
        a.discount = Some(Cut::Percent(1_000)); // 10 % of 100.00 = 10.00
        let mut b = line(3, 333);
        b.tax_bp = 1_300; // 13 %
        let t = compute(&[a, b], Some(Cut::Amount(1_000))).unwrap();
        // After line discounts: 9 000 and 999; the 10.00 is shared 9 000 : 999.
        assert_eq!(t.lines[0].line_discount, 1_000);
        assert_eq!(t.lines[0].share + t.lines[1].share, 1_000);
        assert_eq!(t.lines[0].share, 900);
        assert_eq!(t.lines[1].share, 100);
        assert_eq!(t.lines[1].net, 899);
        assert_eq!(t.lines[1].tax, 117); // 116.87 rounds up
        assert_eq!(t.tax, 117);
        assert_eq!(t.total, t.subtotal - t.discount + t.tax);
        assert_eq!(t.total, 8_100 + 899 + 117);
    }

    #[test]
    fn a_discount_above_what_it_discounts_is_refused() {
        let mut a = line(1, 500);
        a.discount = Some(Cut::Amount(501));
        let e = compute(&[a], None).unwrap_err();
        assert_eq!(e.fields[0].field, "lines[0].discount");
        let e = compute(&[line(1, 500)], Some(Cut::Percent(10_001))).unwrap_err();
        assert_eq!(e.fields[0].field, "discount");
        let e = compute(&[line(0, 500), line(1, -1)], None).unwrap_err();
        assert_eq!(e.fields.len(), 2);
    }

    proptest! {
        #[test]
        fn totals_are_exact(
            ls in proptest::collection::vec((1i64..20, 0i64..200_000, 0u8..3, 0i64..10_001, 0i64..2_500), 1..12),
            td in (0u8..3, 0i64..10_001),
        ) {
            let lines: Vec<LineIn> = ls.iter().map(|&(q, u, k, v, tax)| {
                let gross = q * u;
                LineIn {
                    quantity: q,
                    unit: u,
                    discount: match k { 0 => None, 1 => Some(Cut::Percent(v)), _ => Some(Cut::Amount(v.min(gross))) },
                    tax_bp: tax,
                }
            }).collect();
            let base: i64 = {
                let t = compute(&lines, None).unwrap();
                t.subtotal - t.discount
            };
            let total_cut = match td.0 { 0 => None, 1 => Some(Cut::Percent(td.1)), _ => Some(Cut::Amount(td.1.min(base))) };
            let t = compute(&lines, total_cut).unwrap();
            let wanted = match total_cut { None => 0, Some(Cut::Amount(a)) => a, Some(Cut::Percent(bp)) => share_of(base, bp, 10_000) };
            prop_assert_eq!(t.lines.iter().map(|l| l.share).sum::<i64>(), wanted);
            prop_assert_eq!(t.total, t.subtotal - t.discount + t.tax);
            prop_assert_eq!(t.total, t.lines.iter().map(|l| l.total).sum::<i64>());
            for l in &t.lines {
                prop_assert!(l.net >= 0 && l.share >= 0 && l.tax >= 0);
                prop_assert_eq!(l.net, l.gross - l.line_discount - l.share);
            }
        }
    }
}
