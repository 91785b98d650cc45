//! Payment plans: a principal, a down payment, weekly or monthly installments, optional
//! interest, amortized exactly to the cent with integer arithmetic only.
//!
//! Each period's interest is the open balance times the periodic rate, rounded half up to the
//! cent. The level installment is the smallest whole amount with which the last installment
//! is not larger than the others; the last one pays what is left (balance and its interest).
//! So the principal parts sum exactly to what was financed, and the installments exactly to
//! that plus the interest.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::kernel::error::{DomainError, FieldError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Weekly,
    Monthly,
}

impl Frequency {
    pub fn periods_per_year(self) -> i128 {
        match self {
            Frequency::Weekly => 52,
            Frequency::Monthly => 12,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
        }
    }

    pub fn from_code(c: &str) -> Option<Frequency> {
        match c {
            "weekly" => Some(Frequency::Weekly),
            "monthly" => Some(Frequency::Monthly),
            _ => None,
        }
    }
}

/// The terms of a payment plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// The whole amount, minor units.
    pub principal: i64,
    pub down_payment: i64,
    /// Yearly interest in basis points (599 = 5.99 %); 0 for none.
    pub annual_rate_bp: u32,
    pub installments: u32,
    pub frequency: Frequency,
    pub first_due: Date,
}

/// One installment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Installment {
    pub n: u32,
    pub due: Date,
    pub amount: i64,
    pub principal: i64,
    pub interest: i64,
    /// What is still owed after it.
    pub balance_after: i64,
}

/// The schedule of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub financed: i64,
    pub installments: Vec<Installment>,
    pub total_interest: i64,
}

/// The most a plan may charge: 36 % a year.
pub const MAX_RATE_BP: u32 = 3600;
/// At most 30 years of months, or 10 years of weeks.
pub const MAX_INSTALLMENTS: u32 = 520;

fn interest(balance: i64, t: &Terms) -> i64 {
    let den = 10_000 * t.frequency.periods_per_year();
    let num = i128::from(balance) * i128::from(t.annual_rate_bp);
    // Half up: balances are never negative here.
    ((2 * num + den) / (2 * den)) as i64
}

/// The last installment's amount with a level installment `a` (`None`: the balance would not
/// come down to the last one).
fn last_with(a: i64, financed: i64, t: &Terms) -> i64 {
    let mut bal = financed;
    for _ in 1..t.installments {
        let i = interest(bal, t);
        bal = bal + i - a;
        if bal <= 0 {
            return bal;
        }
    }
    bal + interest(bal, t)
}

impl Terms {
    pub fn check(&self) -> Result<i64, DomainError> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, m: &str| {
            errors.push(FieldError {
                field: field.into(),
                message: m.into(),
            })
        };
        if self.principal <= 0 {
            bad("principal", "must be more than zero");
        }
        if self.down_payment < 0 {
            bad("down_payment", "cannot be negative");
        } else if self.down_payment >= self.principal && self.principal > 0 {
            bad(
                "down_payment",
                "must be less than the principal (nothing would be left to pay in installments)",
            );
        }
        if self.annual_rate_bp > MAX_RATE_BP {
            bad("annual_rate", "at most 36 % a year");
        }
        if self.installments == 0 || self.installments > MAX_INSTALLMENTS {
            bad("installments", "between 1 and 520");
        }
        if !errors.is_empty() {
            return Err(DomainError::validation(errors));
        }
        Ok(self.principal - self.down_payment)
    }

    /// The due date of installment `n` (1-based): months counted from the first (the 31st
    /// becomes the month's last day), weeks by seven days.
    pub fn due(&self, n: u32) -> Result<Date, DomainError> {
        let k = i64::from(n - 1);
        let span = match self.frequency {
            Frequency::Monthly => jiff::Span::new().months(k),
            Frequency::Weekly => jiff::Span::new().days(7 * k),
        };
        self.first_due
            .checked_add(span)
            .map_err(|e| DomainError::field("first_due", e.to_string()))
    }

    /// The schedule, exact to the cent.
    pub fn schedule(&self) -> Result<Schedule, DomainError> {
        let financed = self.check()?;
        let n = self.installments;
        // The level installment: the smallest with which the last is not larger.
        let (mut lo, mut hi) = (1i64, financed);
        while last_with(hi, financed, self) > hi {
            hi = hi.saturating_mul(2);
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if last_with(mid, financed, self) <= mid {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let level = lo;
        let mut out = Vec::with_capacity(n as usize);
        let mut bal = financed;
        let mut total_interest = 0;
        for k in 1..=n {
            if bal <= 0 {
                break;
            }
            let i = interest(bal, self);
            let amount = if k == n { bal + i } else { level.min(bal + i) };
            let principal = amount - i;
            bal -= principal;
            total_interest += i;
            out.push(Installment {
                n: k,
                due: self.due(k)?,
                amount,
                principal,
                interest: i,
                balance_after: bal,
            });
        }
        Ok(Schedule {
            financed,
            installments: out,
            total_interest,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn terms(principal: i64, down: i64, bp: u32, n: u32, f: Frequency) -> Terms {
        Terms {
            principal,
            down_payment: down,
            annual_rate_bp: bp,
            installments: n,
            frequency: f,
            first_due: date(2027, 1, 31),
        }
    }

    #[test]
    fn without_interest_the_installments_are_level_and_the_last_is_smaller() {
        let s = terms(100_000, 10_000, 0, 7, Frequency::Monthly)
            .schedule()
            .unwrap();
        assert_eq!(s.financed, 90_000);
        let amounts: Vec<i64> = s.installments.iter().map(|i| i.amount).collect();
        assert_eq!(
            amounts,
            vec![12_858, 12_858, 12_858, 12_858, 12_858, 12_858, 12_852]
        );
        assert_eq!(amounts.iter().sum::<i64>(), 90_000);
        assert_eq!(s.total_interest, 0);
        // Months from the 31st: the last day of shorter months.
        let dues: Vec<String> = s.installments.iter().map(|i| i.due.to_string()).collect();
        assert_eq!(&dues[..3], &["2027-01-31", "2027-02-28", "2027-03-31"]);
    }

    #[test]
    fn a_year_at_six_percent_matches_the_annuity() {
        // 12,000.00 at 6 % over 12 months: the textbook payment is 1,032.80 (to the cent).
        let s = terms(1_200_000, 0, 600, 12, Frequency::Monthly)
            .schedule()
            .unwrap();
        let first = &s.installments[0];
        assert_eq!(first.interest, 6_000);
        assert_eq!(first.amount, 103_280);
        let last = s.installments.last().unwrap();
        assert_eq!(last.balance_after, 0);
        assert!(
            last.amount <= first.amount && last.amount > first.amount - 12,
            "{last:?}"
        );
        let paid: i64 = s.installments.iter().map(|i| i.amount).sum();
        assert_eq!(paid, 1_200_000 + s.total_interest);
        // Weekly: 52 periods a year, due every seven days.
        let w = terms(52_000, 0, 520, 10, Frequency::Weekly)
            .schedule()
            .unwrap();
        assert_eq!(w.installments[0].interest, 52);
        assert_eq!(w.installments[1].due, date(2027, 2, 7));
    }

    #[test]
    fn bad_terms_are_refused_by_field() {
        let e = terms(0, -1, 5000, 0, Frequency::Monthly)
            .schedule()
            .unwrap_err();
        let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["principal", "down_payment", "annual_rate", "installments"]
        );
        let e = terms(1_000, 1_000, 0, 3, Frequency::Monthly)
            .schedule()
            .unwrap_err();
        assert_eq!(e.fields[0].field, "down_payment");
    }

    proptest! {
        /// For any terms, the principal parts sum to what was financed, the installments to
        /// that plus the interest, no installment is above the level one, the balance ends at
        /// zero, and every interest is the rounded rate of the balance before it.
        #[test]
        fn amortization_is_exact_to_the_cent(
            principal in 1i64..50_000_000,
            down_share in 0u32..100,
            bp in 0u32..=MAX_RATE_BP,
            n in 1u32..=120,
            weekly in any::<bool>(),
        ) {
            let down = principal * i64::from(down_share) / 100;
            prop_assume!(down < principal);
            let t = terms(principal, down, bp, n, if weekly { Frequency::Weekly } else { Frequency::Monthly });
            let s = t.schedule().unwrap();
            let principal_parts: i64 = s.installments.iter().map(|i| i.principal).sum();
            let paid: i64 = s.installments.iter().map(|i| i.amount).sum();
            let interest: i64 = s.installments.iter().map(|i| i.interest).sum();
            prop_assert_eq!(principal_parts, principal - down);
            prop_assert_eq!(paid, principal - down + interest);
            prop_assert_eq!(interest, s.total_interest);
            prop_assert_eq!(s.installments.last().unwrap().balance_after, 0);
            prop_assert!(s.installments.len() <= n as usize);
            let level = s.installments[0].amount;
            let mut before = principal - down;
            for i in &s.installments {
                prop_assert!(i.amount <= level && i.amount > 0 && i.principal > 0, "{:?}", i);
                prop_assert_eq!(i.interest, super::interest(before, &t));
                before = i.balance_after;
            }
        }
    }
}
